"""The dashboard app: routes declared in one list, read-only, built by a factory.

Pages are rendered on the server with autoescaping Jinja2; the only scripts
are files under /static (uPlot and dashboard.js), which the CSP enforces.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from anyio import to_thread
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parity.config import EndpointConfig
from parity.gateway._auth import KeyChecker
from parity.store import Store

from ._auth import COOKIE, TokenGate, safe_next
from ._filters import RANGES, FilterError, parse_filters
from ._live import Live, LiveSource
from ._pages import Pages

__all__ = ["CSP", "DashboardError", "create_dashboard"]

log = logging.getLogger("parity.dashboard")
STATIC = Path(__file__).parent / "static"
VENDOR_FILES = ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The Run page is the HTML report as written to disk: inline CSS, no scripts at all.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"
MAX_FORM = 4096


class DashboardError(RuntimeError):
    """The dashboard cannot start; the message says what to do."""


def check_vendor(directory: Path = STATIC / "vendor") -> None:
    missing = [f for f in VENDOR_FILES if not (directory / f).is_file()]
    if missing:
        raise DashboardError(
            f"the dashboard's chart library is missing from {directory} ({', '.join(missing)}): "
            "run `make install` (it fetches uplot@1.6.32 with `npm pack` and copies it there)")


class SecurityHeaders:
    """CSP and friends on every response (a handler may set a stricter or its own CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in ((b"content-security-policy", CSP), (b"x-content-type-options", "nosniff"),
                             (b"referrer-policy", "no-referrer"), (b"x-frame-options", "DENY")):
                    if k not in names:
                        headers.append((k, v.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with if scope["type"] == "http" else send)


def _env() -> Environment:
    # autoescape on for every template: pages show model outputs and provider bodies.
    return Environment(loader=PackageLoader("parity.dashboard", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


class _Handlers:
    def __init__(self, pages: Pages, live: LiveSource | None, clock: Callable[[], datetime],
                 auth: bool) -> None:
        self.pages, self.live, self.clock, self.auth = pages, live, clock, auth
        self.env = _env()
        self.paths: dict[str, str] = {}  # route name -> path format, set once the routes exist

    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        root: str = request.scope.get("root_path", "")

        def url(_route: str, _query: str = "", /, **params: Any) -> str:
            # from the routes' own path formats: Starlette's url_for costs 40 µs a link, and a
            # 90-day endpoint page has hundreds of links
            path = self.paths[_route].format(**{k: quote(str(v), safe="/" if k == "path" else "")
                                                for k, v in params.items()})
            return root + path + ("?" + _query if _query else "")

        html = self.env.get_template(template).render(
            url=url, quote=quote, urlencode=urlencode, ranges=list(RANGES), auth=self.auth,
            now=self.clock(), **ctx)
        return HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})

    async def _live(self) -> Live | None:
        return await self.live.get() if self.live is not None else None

    async def _page(self, request: Request, template: str, build: Callable[..., dict[str, Any]],
                    *args: Any) -> Response:
        f = parse_filters({k: request.query_params.getlist(k) for k in request.query_params}, self.clock())
        view, live = await asyncio.gather(to_thread.run_sync(partial(build, f, *args)), self._live())
        return self.render(request, template, filters=f, live=live,
                           gateway=self.live.shown_url if self.live else None, **view)

    async def overview(self, request: Request) -> Response:
        return await self._page(request, "overview.html.j2", self.pages.overview)

    async def endpoint(self, request: Request) -> Response:
        return await self._page(request, "endpoint.html.j2", self.pages.endpoint,
                                request.path_params["name"])

    async def compare(self, request: Request) -> Response:
        return await self._page(request, "compare.html.j2", self.pages.compare)

    async def runs(self, request: Request) -> Response:
        return await self._page(request, "runs.html.j2", self.pages.runs)

    async def evidence(self, request: Request) -> Response:
        p = request.query_params
        args = (p.get("transition"), p.get("run"), p.get("endpoint"), p.get("suite"))
        return await self._page(request, "evidence.html.j2", self.pages.evidence, *args)

    async def run(self, request: Request) -> Response:
        html = await to_thread.run_sync(self.pages.run_report, request.path_params["run_id"])
        return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP, "cache-control": "no-store"})

    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self.render(request, "login.html.j2", target=target, failed=False, filters=None)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                raise HTTPException(413, "form too large")
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        target = safe_next(form.get("next"))
        if not KeyChecker(self.pages.token_hashes).allows("Bearer " + form.get("token", "")):
            return self.render(request, "login.html.j2", status=401, target=target, failed=True, filters=None)
        root = request.scope.get("root_path", "")
        resp = RedirectResponse(root + target, status_code=303)
        resp.set_cookie(COOKIE, form["token"], httponly=True, samesite="strict", path=root or "/",
                        secure=request.url.scheme == "https")
        return resp

    async def error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, FilterError):
            status, message = 400, str(exc)
        elif isinstance(exc, HTTPException):
            status, message = exc.status_code, str(exc.detail) if exc.status_code < 500 else "error"
        else:
            log.exception("dashboard: %s %s failed", request.method, request.url.path)
            status, message = 500, "internal error (see the dashboard's log)"
        return self.render(request, "error.html.j2", status=status, message=message, code=status,
                           filters=None)


def create_dashboard(store: Store, *, gateway_url: str | None = None, token_hashes: Iterable[str] = (),
                     endpoints: Sequence[EndpointConfig] = (), live: LiveSource | None = None,
                     clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                     vendor_dir: Path | None = None, aliases: Mapping[str, Sequence[str]] | None = None
                     ) -> Starlette:
    """The read-only dashboard over ``store``. ``gateway_url``: a gateway whose /healthz and
    /metrics give live admission and rates; ``token_hashes``: 'sha256:…' of accepted tokens
    (none: open); ``endpoints``: configured endpoints (their models and declared metadata);
    ``aliases``: the gateway's model aliases, alias -> the endpoints it routes to."""
    check_vendor(vendor_dir or STATIC / "vendor")
    hashes = tuple(token_hashes)
    source = live or (LiveSource(gateway_url) if gateway_url else None)
    h = _Handlers(Pages(store, hashes, endpoints, clock, aliases), source, clock, bool(hashes))
    routes = [
        Route("/", h.overview, name="overview"),
        Route("/endpoints/{name}", h.endpoint, name="endpoint"),
        Route("/compare", h.compare, name="compare"),
        Route("/runs", h.runs, name="runs"),
        Route("/runs/{run_id}", h.run, name="run"),
        Route("/evidence", h.evidence, name="evidence"),
        Route("/login", h.login, methods=["GET", "POST"], name="login"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    h.paths = {str(r.name): r.path_format if isinstance(r, Route) else r.path + "/{path}"
               for r in routes if isinstance(r, Route | Mount)}
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(TokenGate, hashes=hashes)],
                     exception_handlers={Exception: h.error, HTTPException: h.error, FilterError: h.error})
