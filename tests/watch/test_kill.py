"""kill -9 of ``parity watch`` mid-tick, then again: nothing stored lost, nothing re-requested."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from helpers_proc import fake_server, parity_cmd, write_config

WATCH = """
[watch]
jitter = 0
[watch.sentinel]
period_minutes = 1440
prompts = 8
"""


def stored(db: Path) -> list[tuple[str, str, str]]:
    try:
        with sqlite3.connect(db) as conn:
            return list(conn.execute("select run_id, endpoint, case_hash from parity_exchanges"))
    except sqlite3.OperationalError:  # not created yet
        return []


def test_kill_9_mid_tick_then_restart(tmp_path: Path) -> None:
    log, db = tmp_path / "requests.log", tmp_path / "watch.db"
    with fake_server("--delay", "0.05", "--log", str(log)) as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        cfg.write_text(cfg.read_text() + WATCH)
        proc = subprocess.Popen(parity_cmd("watch", "--config", str(cfg), "--db", str(db)),
                                stdout=subprocess.DEVNULL, stderr=open(tmp_path / "first.log", "w"),
                                start_new_session=True, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while len(stored(db)) < 10:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        at_kill = stored(db)
        time.sleep(0.5)  # the server finishes (and logs) what was in flight
        sent_before = len(log.read_text().splitlines())
        done = subprocess.run(parity_cmd("watch", "--config", str(cfg), "--db", str(db), "--once"),
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
    logged = log.read_text().splitlines()
    after = logged[sent_before:]
    assert not {h for _, _, h in at_kill} & set(after)  # nothing stored was asked again
    final = stored(db)
    assert set(at_kill) <= set(final)
    assert {h for _, _, h in final} <= set(logged)  # the log names what was stored
    assert len(final) == 3 * 9 + 2 * 9 + 9  # reference tick; candidate tick (reference twice)
    with sqlite3.connect(db) as conn:
        ticks = sorted(conn.execute("select endpoint, status from watch_ticks"))
    assert ticks == [("cand", "done"), ("ref", "done")]
