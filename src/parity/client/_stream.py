"""An answer read as it arrives: the one stream primitive of the verifier and the gateway.

``ChatClient.stream`` opens one (waiting for one of the endpoint's
``max_concurrency`` slots and its ``requests_per_second`` first) and the slot
is held until it is closed. Each :meth:`OpenStream.read` carries its own
deadline, so a caller that relays what it reads never has a timeout scope
around its own ``yield``: a deadline can only ever cancel the read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx

__all__ = ["OpenStream"]


class OpenStream:
    """An open response: status and headers known, the body still to read."""

    __slots__ = ("_deadline", "_expired", "_it", "_loop", "_reader", "_release", "_timer", "response")

    def __init__(self, response: httpx.Response, release: Callable[[], None] | None = None) -> None:
        self.response = response
        self._it: AsyncIterator[bytes] = response.aiter_raw()
        self._release = release
        # The per-read deadline, kept cheap: one timer per stream, moved only when it fires
        # early (a read's start just sets ``_deadline``); it cancels only a read in progress.
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._reader: asyncio.Task[Any] | None = None  # the task in a bounded read, if any
        self._expired = False
        self._loop: asyncio.AbstractEventLoop | None = None  # the first bounded read's

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    async def read(self, within: float | None = None) -> bytes:
        """The next bytes of the body, ``b""`` at its end. ``TimeoutError`` if none arrive
        within ``within`` seconds (``None``: the caller bounds the wait); the deadline spans
        this read only. Transport failures raise httpx's errors."""
        if within is None:
            return await anext(self._it, b"")
        # the loop looked up once per stream: on Python 3.11 each get_running_loop() (also
        # inside current_task() without a loop) is a getpid() system call
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._deadline = loop.time() + within
        if within <= 0:
            raise TimeoutError
        if self._timer is None:
            self._timer = loop.call_at(self._deadline, self._expire)
        task = self._reader = asyncio.current_task(loop)
        assert task is not None
        cancelling = task.cancelling()
        try:
            return await anext(self._it, b"")
        except asyncio.CancelledError:
            if self._expired:
                self._expired = False
                if task.uncancel() <= cancelling:  # ours alone: the deadline passed
                    raise TimeoutError from None
            raise
        finally:
            self._reader = None

    def _expire(self) -> None:
        self._timer = None
        if self._reader is None:
            return  # between reads: the next read re-arms it
        loop = self._loop
        assert loop is not None  # set by the read that armed the timer
        if loop.time() < self._deadline:  # a later read moved the deadline
            self._timer = loop.call_at(self._deadline, self._expire)
            return
        self._expired = True
        self._reader.cancel()

    async def read_capped(self, limit: int | None) -> bytes:
        """The rest of the body, but never more than ``limit`` + 1 bytes of it (so the caller
        can tell it was longer) instead of buffering it whole."""
        chunks: list[bytes] = []
        size = 0
        while chunk := await self.read():
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                return b"".join(chunks)[: limit + 1]
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the response and give the endpoint's slot back (once; safe to repeat)."""
        release, self._release = self._release, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            if self.response.is_closed:  # closed before: httpx's aclose would do nothing
                return
            # Shielded: this runs while a disconnected client's task is being cancelled.
            with anyio.CancelScope(shield=True):
                await self.response.aclose()
        finally:
            if release is not None:
                release()
