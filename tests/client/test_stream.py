"""OpenStream: a deadline per read, never around the caller's own work; slots given back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from parity.client import ChatClient, OpenStream
from parity.config import EndpointConfig


class Gated(httpx.AsyncByteStream):
    """Yields a chunk each time the test opens the gate."""

    def __init__(self) -> None:
        self.gate: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.gate.get():
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def opened(body: Gated) -> OpenStream:
    return OpenStream(httpx.Response(200, stream=body))


async def test_a_read_past_its_deadline_is_a_timeout_and_only_that() -> None:
    body = Gated()
    s = opened(body)
    with pytest.raises(TimeoutError):
        await s.read(0.05)
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # the task itself is not left cancelled
    await asyncio.sleep(0)  # and no cancellation is pending for the caller's next await
    await s.aclose()
    assert body.closed


async def test_time_spent_between_reads_is_not_counted() -> None:
    body = Gated()
    s = opened(body)
    body.gate.put_nowait(b"one")
    assert await s.read(0.2) == b"one"
    await asyncio.sleep(0.5)  # the caller's own work (a slow client): longer than the deadline
    body.gate.put_nowait(b"two")
    assert await s.read(0.2) == b"two"  # the deadline spans the read alone
    body.gate.put_nowait(b"")
    assert await s.read(0.2) == b""  # the end
    await s.aclose()


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    s = opened(Gated())
    reader = asyncio.create_task(s.read(30))
    await asyncio.sleep(0.01)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await s.aclose()


async def test_stream_holds_a_slot_until_closed() -> None:
    bodies: list[Gated] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(Gated())
        return httpx.Response(200, stream=bodies[-1], headers={"content-type": "text/event-stream"})

    ep = EndpointConfig(name="ep", base_url="http://ep.test/v1", model="m", max_concurrency=1)
    async with ChatClient(ep, transport=httpx.MockTransport(handler)) as c:
        first = await c.stream(b"{}")
        second = asyncio.create_task(c.stream(b"{}", path="completions"))
        await asyncio.sleep(0.05)
        assert not second.done() and len(bodies) == 1  # the one slot is the first stream's
        await first.aclose()
        await first.aclose()  # closing twice gives the slot back once
        other = await second
        assert str(other.response.request.url) == "http://ep.test/v1/completions"
        await other.aclose()
        third = await c.stream(b"{}")  # the slot came back: not stuck at zero
        await third.aclose()
    assert len(bodies) == 3 and all(b.closed for b in bodies)
