"""A URL that must never be fetched: records every contact and hangs until released."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Trap:
    """A server on 127.0.0.1 that records every contact and never answers until released."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.release = threading.Event()
        trap = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                trap.hits.append(self.path)
                trap.release.wait()  # a slow URL: anything that fetched it would hang here
                body = b'{"type": "string"}'
                self.send_response(200)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@contextmanager
def trap_server() -> Iterator[Trap]:
    t = Trap()
    try:
        yield t
    finally:
        t.release.set()
        t.server.shutdown()
        t.server.server_close()
