"""kill -9 in the middle of a run, then the same command: nothing lost, nothing re-requested."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections import Counter
from pathlib import Path

from helpers_proc import fake_server, parity_cmd, wait_until, write_config

LIMIT = 60  # cases; reference x2 + candidate x1 = 180 exchanges


def stored(db: Path) -> list[tuple[str, str, int, str]]:
    try:
        with sqlite3.connect(db) as conn:
            return list(conn.execute("select endpoint, case_hash, repeat, data from parity_exchanges"))
    except sqlite3.OperationalError:  # the table is not created yet
        return []


def test_kill_9_then_resume(tmp_path: Path) -> None:
    log = tmp_path / "requests.log"
    db = tmp_path / "parity.db"
    server = ("--delay", "0.05", "--log", str(log))
    with fake_server(*server) as url:
        cfg = write_config(tmp_path / "parity.toml", url, ("ref", "cand"))
        cmd = parity_cmd("verify", "--config", str(cfg), "--db", str(db), "--limit", str(LIMIT))
        proc = subprocess.Popen(cmd, stdout=open(tmp_path / "first.out", "w"), stderr=open(tmp_path / "first.log", "w"),
                                start_new_session=True, cwd=tmp_path)

        def forty_stored() -> bool:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            return db.exists() and len(stored(db)) >= 40
        wait_until("40 exchanges stored", forty_stored)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        at_kill = stored(db)
        assert 40 <= len(at_kill) < 3 * LIMIT
    # The server is stopped gracefully: it finishes (and logs) what was in flight at the kill,
    # then exits. The resumed run talks to a new one on the same port (the same config).
    sent_before = len(log.read_text().splitlines())
    port = int(url.split(":")[-1].split("/")[0])
    with fake_server(*server, port=port):
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "resuming" in done.stderr

    final = stored(db)
    assert len(final) == 3 * LIMIT
    final_rows = {(e, h, r): d for e, h, r, d in final}
    assert all(final_rows[(e, h, r)] == d for e, h, r, d in at_kill)  # nothing stored was lost or changed

    # Every request after the restart was for something not stored at the kill, exactly.
    per_hash_expected = Counter(h for _, h, _, _ in final)
    per_hash_stored = Counter(h for _, h, _, _ in at_kill)
    after = Counter(log.read_text().splitlines()[sent_before:])
    for h, total in per_hash_expected.items():
        assert after.get(h, 0) == total - per_hash_stored.get(h, 0), h
    with sqlite3.connect(db) as conn:
        runs = list(conn.execute("select status from parity_runs"))
    assert runs == [("complete",)]  # resumed the same run, did not start another
