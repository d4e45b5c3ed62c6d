"""``python -m parity.fake``: serve the fake endpoint on 127.0.0.1 (tests, demos, benchmarks)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import orjson
import uvicorn

from parity.case import body_hash

from ._app import FakeEndpoint
from ._behaviors import Answer, Behavior, Call, Slow, default_script


def _broken(body: dict[str, Any]) -> Behavior:
    """Every third tool call has truncated arguments: a broken tool-call parser."""
    b = default_script(body)
    if isinstance(b, Answer) and b.calls and int(body_hash(body), 16) % 3 == 0:
        return Answer(content=None, calls=(Call(b.calls[0].name, b.calls[0].arguments[:-1]),))
    return b


def _drifted(body: dict[str, Any]) -> Behavior:
    """A different model: never calls a tool, answers other words (what the watch must flag)."""
    return Answer(content="Entirely different words from another model.")


SCRIPTS = {"default": default_script, "broken": _broken, "drifted": _drifted}


class _Logged:
    """Appends the hash of every request body to a file, flushed: what a kill test counts."""

    def __init__(self, app: FakeEndpoint, path: str) -> None:
        self.app = app
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            return msg

        await self.app(scope, recording_receive, send)
        if scope["type"] == "http" and scope["method"] == "POST":
            try:
                body = orjson.loads(b"".join(chunks))
            except orjson.JSONDecodeError:
                return
            body.pop("model", None)
            # Logged once the answer was sent: a request the client may have stored.
            os.write(self.fd, (body_hash(body) + "\n").encode())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--script", choices=sorted(SCRIPTS), default="default")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    ap.add_argument("--log", help="append each request body's hash to this file")
    ap.add_argument("--echo-headers", action="store_true", help="leak request headers into answers")
    args = ap.parse_args()
    script = SCRIPTS[args.script]
    if args.delay:
        inner = script
        script = lambda body: Slow(args.delay, inner(body))  # noqa: E731
    app: Any = FakeEndpoint(script, echo_headers=args.echo_headers)
    if args.log:
        app = _Logged(app, args.log)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
