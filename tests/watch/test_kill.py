"""kill -9 of ``parity watch`` mid-tick, then again: nothing stored lost, nothing re-requested."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from helpers_proc import fake_server, parity_cmd, wait_in_flight, write_config

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
        wait_in_flight(url, lambda n: n == 0)  # the server finishes (and logs) what was in flight
        sent_before = len(log.read_text().splitlines())
        done = subprocess.run(parity_cmd("watch", "--config", str(cfg), "--db", str(db), "--once"),
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
    logged = log.read_text().splitlines()
    after = logged[sent_before:]
    assert not {h for _, _, h in at_kill} & set(after)  # nothing stored was asked again
    final = stored(db)
    assert set(at_kill) <= set(final)
    with sqlite3.connect(db) as conn:
        answered = {h for (h,) in conn.execute("select case_hash from parity_exchanges where status = 'ok'")}
    assert answered <= set(logged)  # the log names every answer stored
    assert len(logged) == len(set(logged))  # and no request reached the server twice
    assert len(final) == 3 * 9 + 2 * 9 + 9  # reference tick; candidate tick (reference twice)
    with sqlite3.connect(db) as conn:
        ticks = sorted(conn.execute("select endpoint, status from watch_ticks"))
    assert ticks == [("cand", "done"), ("ref", "done")]


FAST = """
[watch]
jitter = 0
arl_days = 0.0001        # alarm after 3 ticks' worth of evidence: the drifted candidate alerts soon
warn_arl_days = 0.0001
[watch.sentinel]
period_minutes = 0.05    # a tick every 3 s
prompts = 4
"""


def test_kill_9_mid_tick_sends_no_request_and_no_alert_twice(tmp_path: Path) -> None:
    """kill -9 of the single-process watch mid-tick, restart: every started tick is stored once,
    no request reaches an endpoint twice, no alert is delivered twice (counted where they arrive)."""
    from .scale_helpers import logged, wait_for, webhook

    ref_log, cand_log, db = tmp_path / "ref.log", tmp_path / "cand.log", tmp_path / "watch.db"

    def q(sql: str) -> list[tuple[str, ...]]:
        try:
            with sqlite3.connect(db) as conn:
                return list(conn.execute(sql))
        except sqlite3.OperationalError:  # not created yet
            return []

    with (webhook() as (hook, got), fake_server("--delay", "0.2", "--log", str(ref_log)) as ref,
          fake_server("--delay", "0.2", "--log", str(cand_log), "--script", "drifted") as cand):
        cfg = tmp_path / "parity.toml"
        cfg.write_text(f'[[endpoints]]\nname = "ref"\nbase_url = "{ref}"\nmodel = "m"\nreference = true\n'
                       f'max_concurrency = 4\n\n[[endpoints]]\nname = "cand"\nbase_url = "{cand}"\n'
                       f'model = "m"\nmax_concurrency = 4\n{FAST}')
        env = {**os.environ, "PARITY_WATCH_WEBHOOK": hook}
        cmd = parity_cmd("watch", "--config", str(cfg), "--db", str(db))

        def start(name: str) -> subprocess.Popen[bytes]:
            return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp_path / name, "w"),
                                    start_new_session=True, cwd=tmp_path, env=env)

        def cut_ticks() -> set[str]:  # started (requests stored) but not recorded
            done = {r[0] for r in q("select id from watch_ticks")}
            return {r[0] for r in q("select run_id from parity_exchanges")} - done

        proc = start("first.log")
        try:
            wait_for(lambda: len(q("select id from watch_ticks")) >= 2 and cut_ticks(), 300, proc)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        cut = cut_ticks()
        proc = start("second.log")
        try:
            wait_for(lambda: cut <= {r[0] for r in q("select id from watch_ticks")}, 300, proc)
            wait_for(lambda: len(q("select id from watch_ticks")) >= 10, 300, proc)
            wait_for(lambda: q("select key from watch_alerts where status = 'delivered'"), 300, proc)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # again, anywhere
            proc.wait()
        done = subprocess.run([*cmd, "--once"], capture_output=True, text=True, cwd=tmp_path, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    jobs = sorted(r[0] for r in q("select key from watch_jobs"))
    ticks = sorted(r[0] for r in q("select id from watch_ticks"))
    assert cut and set(cut) <= set(ticks)
    assert jobs == ticks and len(ticks) >= 10  # every started tick stored, each once
    received = logged(ref_log, cand_log)
    assert received and max(received.values()) == 1
    ok = [r[0] for r in q("select case_hash from parity_exchanges where status = 'ok'")]
    assert len(ok) == len(set(ok)) and all(received[h] == 1 for h in ok)
    assert got and max(got.values()) == 1
    delivered = [r[0] for r in q("select key from watch_alerts where status = 'delivered'")]
    assert all(got[k] == 1 for k in delivered)
