"""The watch at scale, for real: Dramatiq over RabbitMQ, PostgreSQL, fake endpoints on 127.0.0.1.

kill -9 of one of two workers mid-tick: every scheduled tick is stored once,
each request reached its endpoint at most once (never twice), no alert was
delivered twice. And the scheduler lock: a second scheduler stands by while
the first holds it and takes over when the first is killed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from helpers_proc import fake_server, parity_cmd

from .scale_helpers import RABBIT, REDIS, logged, pg_schema, rows, stop, wait_for, webhook

pytestmark = [pytest.mark.postgres]
BROKERS = [pytest.param(RABBIT, marks=pytest.mark.rabbitmq, id="rabbitmq"),
           pytest.param(REDIS, marks=pytest.mark.redis, id="redis")]


def _config(path: Path, ref: str, cand: str, queue: str, redis: bool = False) -> Path:
    path.write_text(f"""
[[endpoints]]
name = "ref"
base_url = "{ref}"
model = "m"
reference = true
max_concurrency = 4

[[endpoints]]
name = "cand"
base_url = "{cand}"
model = "m"
max_concurrency = 4

[watch]
jitter = 0
arl_days = 0.0001        # alarm after 3 ticks' worth of evidence: the drifted candidate alerts soon
warn_arl_days = 0.0001

[watch.sentinel]
period_minutes = 0.05    # a tick every 3 s
prompts = 4

[watch.engine]
queue = "{queue}"
worker_threads = 2
poll_s = 0.2
{"heartbeat_timeout_s = 3" + chr(10) + "maintenance_chance = 1" if redis else ""}
""")
    return path


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[Any]:
    return subprocess.Popen(parity_cmd(*args), stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                            start_new_session=True, env=env, cwd=log.parent)


def _delete_queues(queue: str, broker: str = RABBIT) -> None:
    if broker.startswith("redis"):
        import redis

        client = redis.Redis.from_url(broker)
        keys = list(client.scan_iter(f"parity-{queue}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(RABBIT))
    try:
        ch = conn.channel()
        for q in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            ch.queue_delete(q)
    finally:
        conn.close()


def _started(log: Path) -> set[str]:
    return set(re.findall(r"watch\.job start \S+ \S+ (w-[0-9a-f]{32})", log.read_text()))


@pytest.mark.parametrize("broker", BROKERS)
def test_kill_9_of_one_of_two_workers_mid_tick(tmp_path: Path, broker: str) -> None:
    queue = f"pw-{uuid.uuid4().hex[:10]}"
    ref_log, cand_log = tmp_path / "ref.log", tmp_path / "cand.log"
    with (pg_schema() as (db, engine), webhook() as (hook, got),
          fake_server("--delay", "0.2", "--log", str(ref_log)) as ref,
          fake_server("--delay", "0.2", "--log", str(cand_log), "--script", "drifted") as cand):
        cfg = _config(tmp_path / "parity.toml", ref, cand, queue, redis=broker == REDIS)
        env = {**os.environ, "PARITY_WATCH_BROKER": broker, "PARITY_WATCH_WEBHOOK": hook}
        common = ["--config", str(cfg), "--db", db]
        w1_log, w2_log, s_log = tmp_path / "w1.log", tmp_path / "w2.log", tmp_path / "sched.log"
        procs = [_spawn(["watch", "worker", *common], w1_log, env),
                 _spawn(["watch", "worker", *common], w2_log, env)]
        procs.append(_spawn(["watch", "scheduler", *common], s_log, env))
        w1, w2, sched = procs
        try:
            def w1_mid_tick() -> set[str]:
                done = {r[0] for r in rows(engine, "select id from watch_ticks")}
                sent = {r[0] for r in rows(engine, "select run_id from parity_exchanges")}
                return (_started(w1_log) - done) & sent  # started by w1, requests stored, not recorded
            cut = wait_for(w1_mid_tick, 300, *procs)
            os.killpg(w1.pid, signal.SIGKILL)
            w1.wait()
            # The other worker finishes the cut ticks (the broker redelivers them) and goes on.
            wait_for(lambda: cut <= {r[0] for r in rows(engine, "select id from watch_ticks")}, 300, w2, sched)
            wait_for(lambda: len(rows(engine, "select id from watch_ticks")) >= 12, 300, w2, sched)
            wait_for(lambda: rows(engine, "select key from watch_alerts where status = 'delivered'"),
                     300, w2, sched)
            stop(sched)  # no new jobs; the worker finishes what was scheduled
            wait_for(lambda: not rows(engine, "select key from watch_jobs j where not exists "
                                              "(select 1 from watch_ticks t where t.id = j.key)"), 300, w2)
        finally:
            for p in procs:
                stop(p)
            _delete_queues(queue, broker)
        jobs = [r[0] for r in rows(engine, "select key from watch_jobs")]
        ticks = [r[0] for r in rows(engine, "select id from watch_ticks")]
        exchanges = rows(engine, "select run_id, endpoint, case_hash, status from parity_exchanges")
        alerts = rows(engine, "select key, status from watch_alerts")
    # Every scheduled tick stored, each once (the tick id is the job key and the primary key).
    assert sorted(jobs) == sorted(ticks) and len(set(ticks)) == len(ticks) >= 12
    assert cut and cut <= set(ticks)
    # Each request reached its endpoint at most once; each answer stored was requested exactly once.
    received = logged(ref_log, cand_log)
    assert received and max(received.values()) == 1
    ok = [h for _, _, h, status in exchanges if status == "ok"]
    assert len(ok) == len(set(ok)) and all(received[h] == 1 for h in ok)
    # The journal turned requests cut off by the kill into 'interrupted' exchanges, not second requests.
    assert {s for *_, s in exchanges} <= {"ok", "interrupted"}
    # No alert delivered twice; every delivered one arrived exactly once.
    assert got and max(got.values()) == 1
    assert all(got[k] == 1 for k, status in alerts if status == "delivered")
    assert {k for k, _ in alerts} >= set(got)


def test_one_scheduler_at_a_time_and_a_takeover_when_it_dies(tmp_path: Path) -> None:
    queue = f"pw-{uuid.uuid4().hex[:10]}"
    with pg_schema() as (db, engine), fake_server() as url:
        cfg = _config(tmp_path / "parity.toml", url, url, queue)
        env = {**os.environ, "PARITY_WATCH_BROKER": RABBIT}
        common = ["--config", str(cfg), "--db", db]
        # A worker runs the jobs: a scheduler keeps one job per stream in flight.
        worker = _spawn(["watch", "worker", *common], tmp_path / "w.log", env)
        first = _spawn(["watch", "scheduler", *common], tmp_path / "s1.log", env)
        second: subprocess.Popen[Any] | None = None
        try:
            def by(pid: int) -> list[Any]:
                return rows(engine, "select key from watch_jobs where scheduler like :p", p=f"%:{pid}")
            wait_for(lambda: by(first.pid), 300, first, worker)
            second = _spawn(["watch", "scheduler", *common], tmp_path / "s2.log", env)
            wait_for(lambda: "standby" in (tmp_path / "s2.log").read_text(), 300, first, second)
            # While the first holds the lock, its ticks keep coming and none are the second's.
            n = len(by(first.pid))
            wait_for(lambda: len(by(first.pid)) >= n + 4, 300, first, second, worker)
            assert by(second.pid) == []
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            wait_for(lambda: by(second.pid), 300, second, worker)
            assert "holds the lock" in (tmp_path / "s2.log").read_text()
        finally:
            stop(first)
            if second is not None:
                stop(second)
            stop(worker)
            _delete_queues(queue)
        owners = {r[0].rsplit(":", 1)[1] for r in rows(engine, "select scheduler from watch_jobs")}
    assert owners == {str(first.pid), str(second.pid)}
