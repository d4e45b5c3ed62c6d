"""Read-only access by token: only sha256 hashes are configured (as for gateway keys).

A browser signs in once on /login; the token then travels in an HttpOnly,
SameSite=Strict cookie. Scripts and API clients may send ``Authorization:
Bearer``. No hashes configured means open (the CLI says so at start-up).
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Receive, Scope, Send

from parity.gateway._auth import KeyChecker

__all__ = ["COOKIE", "TokenGate", "safe_next"]

COOKIE = "parity_dashboard"
OPEN_PATHS = ("/login", "/static/dashboard.css", "/static/favicon.svg")


def safe_next(value: str | None) -> str:
    """A redirect target from the query: only a path on this site, else the overview."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 2000:
        return "/"
    return value


def route_path(scope: Scope) -> str:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


class TokenGate:
    """ASGI middleware: every path but the login page and its CSS needs a valid token."""

    def __init__(self, app: ASGIApp, hashes: Iterable[str]) -> None:
        self.app = app
        self.checker = KeyChecker(hashes)

    def allows(self, scope: Scope) -> bool:
        if not self.checker.enabled:
            return True
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.checker.allows(headers.get("authorization")):
            return True
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", "")[:8192])
        except Exception:  # a malformed cookie header is just no cookie
            return False
        morsel = jar.get(COOKIE)
        return morsel is not None and self.checker.allows("Bearer " + morsel.value)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in OPEN_PATHS or self.allows(scope):
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        if scope.get("method") == "GET":
            from urllib.parse import quote

            target = route_path(scope) + ("?" + scope["query_string"].decode("latin-1")
                                          if scope.get("query_string") else "")
            headers = [(b"location", f"{root}/login?next={quote(target, safe='')}".encode("latin-1")),
                       (b"cache-control", b"no-store")]
            await send({"type": "http.response.start", "status": 303, "headers": headers})
        else:
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"sign in with a dashboard token\n"})
