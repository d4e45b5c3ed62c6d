"""Scale-out on Dramatiq: one scheduler (under a lock) publishes keyed jobs, workers run them.

Roles, each a process (``parity watch scheduler`` / ``parity watch worker``),
all sharing one PostgreSQL store and one broker (Redis or RabbitMQ):

* **scheduler** — holds the PostgreSQL advisory lock ``parity-watch-scheduler``
  (:mod:`._locks`); a second scheduler waits on standby and takes over when the
  holder's session ends (its process died). Each poll, for the latest due tick
  of every stream it records a job row *over the lock's own session* (so a
  scheduler that lost its lock cannot schedule), publishes the job's message,
  then marks it published. On taking over it republishes every scheduled job
  whose tick is not stored: a message lost between row and publish is sent;
  a duplicate is harmless (below). It also delivers alerts (one sender).
* **worker** — consumes job messages and runs the tick
  (:meth:`WatchService.run_job`): dropped when the tick is stored, retried
  later when another worker holds the advisory lock of the tick's stream, else
  run; its requests go through the send journal. The scheduler keeps one job
  per stream in flight. Dramatiq acknowledges a message only after the
  actor returned, so a worker killed mid-job leaves its message unacknowledged
  and the broker hands it to another worker (RabbitMQ: when the connection
  drops; Redis: after ``heartbeat_timeout_s``), which finishes the tick from
  what was stored, sending nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from parity.config import ConfigError

from ._config import EngineConfig
from ._locks import SCHEDULER_LOCK, AdvisoryLock
from ._schedule import Tick
from ._service import PENDING_HORIZON, StreamBusy
from ._tables import jobs

if TYPE_CHECKING:
    import dramatiq

    from ._service import WatchService

__all__ = ["ACTOR", "Scheduler", "make_broker", "run_scheduler", "run_worker"]

logger = logging.getLogger("parity.watch")
ACTOR = "parity_watch_job"


def make_broker(url: str, conf: EngineConfig) -> dramatiq.Broker:
    """A Dramatiq broker for ``redis://`` or ``amqp://`` URLs, with async actors enabled."""
    from dramatiq.middleware.asyncio import AsyncIO

    if url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker

        broker: dramatiq.Broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url, namespace=f"parity-{conf.queue}", heartbeat_timeout=int(conf.heartbeat_timeout_s * 1000),
            maintenance_chance=MAINTENANCE_SCALE // conf.maintenance_chance)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise ConfigError("the broker URL must start with redis:// or amqp:// "
                          f"(from ${conf.broker_url_env})")
    broker.add_middleware(AsyncIO())
    broker.declare_queue(conf.queue)
    return broker


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Publishes due ticks as jobs while it holds the scheduler lock (blocking: run in a thread)."""

    def __init__(self, service: WatchService, publish: Callable[[Tick], None], *,
                 name: str | None = None, stale_s: float = 6 * 3600.0) -> None:
        if service.store.engine.dialect.name != "postgresql":
            raise ConfigError("scale-out needs a PostgreSQL store (--db postgresql://...)")
        self.service = service
        self.publish = publish
        self.name = name or _holder()
        self.stale_s = stale_s  # a job published this long ago and not stored is published again
        self.lock = AdvisoryLock(service.store.engine, SCHEDULER_LOCK)
        self._published: set[str] = set()
        self.leader = False
        self._standby_told = False

    def step(self) -> list[Tick]:
        """One poll: take or check the lock, then schedule what is due; the ticks published."""
        out: list[Tick] = []
        if self.leader:
            if not self.lock.held():
                raise RuntimeError("lost the scheduler lock (the database session ended)")
        elif self.lock.try_acquire():
            self.leader = True
            logger.info("watch.scheduler %s holds the lock", self.name)
            out = self._republish()
        else:
            if not self._standby_told:
                logger.info("watch.scheduler %s on standby: another scheduler holds the lock", self.name)
                self._standby_told = True
            return []
        now = self.service.clock()
        # One job per stream at a time: its detector is sequential, and a backlog would only be
        # superseded. The next is published once the last is stored (or when it is due, if later).
        pending = self.service.store.pending_jobs(since=now - PENDING_HORIZON)
        busy = {(j.endpoint, j.stream) for j in pending}
        for job in pending:  # a message lost by the broker (flushed, say): published again
            if job.published_at is not None and (now - job.published_at).total_seconds() > self.stale_s:
                self._send(self.service.schedule(job.endpoint, job.stream).at(job.tick_index))
        for tick in self.service.ticks_due(now):
            if (tick.id in self._published or (tick.endpoint, tick.stream) in busy
                    or self.service.store.has_tick(tick.id)):
                continue
            if self._record(tick):
                self._send(tick)
                out.append(tick)
            self._published.add(tick.id)
        return out

    def _record(self, tick: Tick) -> bool:
        conn = self.lock.connection  # the lock's session: fenced
        q = pg_insert(jobs).values(key=tick.id, endpoint=tick.endpoint, stream=tick.stream,
                                   tick_index=tick.index, scheduled_at=tick.at, scheduler=self.name,
                                   created_at=datetime.now(UTC)).on_conflict_do_nothing()
        return bool(conn.execute(q).rowcount)

    def _send(self, tick: Tick) -> None:
        self.publish(tick)
        self.lock.connection.execute(update(jobs).where(jobs.c.key == tick.id)
                                     .values(published_at=datetime.now(UTC)))

    def _republish(self) -> list[Tick]:
        out = []
        for job in self.service.store.pending_jobs(since=self.service.clock() - PENDING_HORIZON):
            tick = self.service.schedule(job.endpoint, job.stream).at(job.tick_index)
            self._send(tick)
            self._published.add(tick.id)
            out.append(tick)
        if out:
            logger.info("watch.scheduler republished %d job(s) not yet stored", len(out))
        return out

    def release(self) -> None:
        self.lock.release()
        self.leader = False


async def run_scheduler(service: WatchService, broker: dramatiq.Broker, conf: EngineConfig, *,
                        stop: asyncio.Event | None = None) -> None:
    """The scheduler role's loop: poll, publish, deliver alerts while leader; until ``stop``."""
    import dramatiq

    def publish(tick: Tick) -> None:
        broker.enqueue(dramatiq.Message(queue_name=conf.queue, actor_name=ACTOR,
                                        args=(tick.endpoint, tick.stream, tick.index), kwargs={},
                                        options={}))

    sched = Scheduler(service, publish, stale_s=conf.job_time_limit_s + conf.heartbeat_timeout_s)
    stop = stop or asyncio.Event()
    alerts_task: asyncio.Task[None] | None = None
    logger.info("watch.scheduler %s started", sched.name)
    try:
        while not stop.is_set():
            await asyncio.to_thread(sched.step)
            if sched.leader and service.alerts is not None:
                if alerts_task is None:
                    alerts_task = asyncio.create_task(service.alerts.run())
                service.alerts.notify()
            try:
                await asyncio.wait_for(stop.wait(), conf.poll_s)
            except TimeoutError:
                pass
    finally:
        if alerts_task is not None:
            alerts_task.cancel()
        await asyncio.to_thread(sched.release)


def run_worker(service: WatchService, broker: dramatiq.Broker, conf: EngineConfig,
               stop: threading.Event) -> None:
    """The worker role: run jobs from the queue on ``worker_threads`` threads until ``stop``."""
    import dramatiq

    if service.store.engine.dialect.name != "postgresql":
        raise ConfigError("scale-out needs a PostgreSQL store (--db postgresql://...)")

    async def job(endpoint: str, stream: str, index: int) -> None:
        tick = service.schedule(endpoint, stream).at(index)
        try:
            rec = await service.run_job(tick)
        except StreamBusy as e:  # not an error: requeued, tried again in a while
            raise dramatiq.Retry(str(e), delay=int(conf.poll_s * 2000)) from None
        if rec is not None:
            logger.info("watch.job done %s %s %s (%s)", endpoint, stream, tick.id, rec.status)

    dramatiq.actor(broker=broker, actor_name=ACTOR, queue_name=conf.queue, max_retries=20,
                   time_limit=int(conf.job_time_limit_s * 1000))(job)
    worker = dramatiq.Worker(broker, queues={conf.queue}, worker_threads=conf.worker_threads)
    worker.start()
    logger.info("watch.worker %s consuming %s", _holder(), conf.queue)
    try:
        stop.wait()
    finally:
        worker.stop()
        broker.close()
