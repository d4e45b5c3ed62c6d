"""Real pieces for the watch's crash tests: a PostgreSQL schema, a webhook receiver, request logs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from parity.fake import serve

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RABBIT = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS = "redis://127.0.0.1:6379/0"


@contextmanager
def pg_schema() -> Iterator[tuple[str, Engine]]:
    """A new, empty schema of the real PostgreSQL: its URL (for --db) and an engine on it."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:
        pytest.fail(f"PostgreSQL is expected on 127.0.0.1:5432 (trust auth, database 'test'): {e}")
    url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    engine = create_engine(f"{PG}?options=-csearch_path%3D{schema}")
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def webhook() -> Iterator[tuple[str, Counter[str]]]:
    """A webhook receiver on 127.0.0.1: its URL and how often each Idempotency-Key arrived."""
    got: Counter[str] = Counter()

    async def hook(request: Request) -> Response:
        await request.body()
        got[request.headers.get("idempotency-key", "")] += 1
        return Response(status_code=200)

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        yield f"{base}/hook", got


def logged(*paths: Path) -> Counter[str]:
    """How often each request body (by hash) reached the fake servers."""
    out: Counter[str] = Counter()
    for p in paths:
        if p.exists():
            out.update(line for line in p.read_text().splitlines() if line)
    return out


def wait_for(what: Callable[[], Any], guard_s: float, *procs: subprocess.Popen[Any]) -> Any:
    """Poll until ``what()`` is truthy; the deadline only guards against a hang."""
    deadline = time.monotonic() + guard_s
    while True:
        got = what()
        if got:
            return got
        for p in procs:
            assert p.poll() is None, f"process {p.args} exited with {p.returncode}"
        assert time.monotonic() < deadline, "gave up waiting (a hang guard, not a measurement)"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy.exc import ProgrammingError

    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    except ProgrammingError as e:  # the tables are not created yet
        if "does not exist" not in str(e):
            raise
        return []
