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

import anyio
import httpx

__all__ = ["OpenStream"]


class OpenStream:
    """An open response: status and headers known, the body still to read."""

    __slots__ = ("_it", "_release", "response")

    def __init__(self, response: httpx.Response, release: Callable[[], None] | None = None) -> None:
        self.response = response
        self._it: AsyncIterator[bytes] = response.aiter_raw()
        self._release = release

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
        async with asyncio.timeout(within):
            return await anext(self._it, b"")

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
        try:
            # Shielded: this runs while a disconnected client's task is being cancelled.
            with anyio.CancelScope(shield=True):
                await self.response.aclose()
        finally:
            if release is not None:
                release()
