"""The gateway's live view: admission from /healthz, windowed rates from /metrics.

Fetched with a short timeout and a size cap; any failure means "unknown",
never an error page. The URL's credentials, if any, are never shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

__all__ = ["Live", "LiveSource", "public_url"]

MAX_BODY = 2_000_000
RATES = {
    "parity_gateway_endpoint_error_rate": "error_rate",
    "parity_gateway_endpoint_tool_call_error_rate": "tool_call_error_rate",
}


def public_url(url: str) -> str:
    """The URL without user, password, query or fragment: safe to render."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class Live:
    reachable: bool
    admitted: dict[str, bool] = field(default_factory=dict)
    rates: dict[str, dict[str, float]] = field(default_factory=dict)  # endpoint -> rate name -> value
    error: str = ""

    def admission(self, endpoint: str) -> str:
        if not self.reachable:
            return "unknown"
        if endpoint not in self.admitted:
            return "not routed"
        return "admitted" if self.admitted[endpoint] else "ejected"

    def admitted_count(self, endpoints: Iterable[str]) -> str:
        """'2 of 3' endpoints the gateway admits now; 'unknown' when it cannot be asked."""
        names = list(endpoints)
        if not self.reachable:
            return "unknown"
        return f"{sum(self.admitted.get(e, False) for e in names)} of {len(names)}"


async def _get(client: httpx.AsyncClient, url: str) -> bytes:
    async with client.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise ValueError(f"HTTP {resp.status_code}")
        body = bytearray()
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY:
                raise ValueError("body too large")
        return bytes(body)


def _admitted(body: bytes) -> dict[str, bool]:
    data = orjson.loads(body)
    eps = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(eps, dict):
        raise ValueError("no endpoints in /healthz")
    return {str(k): v == "admitted" for k, v in eps.items()}


def _rates(body: bytes) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(body.decode("utf-8", "replace")):
        name = RATES.get(family.name)
        if name is None:
            continue
        for sample in family.samples:
            ep = sample.labels.get("endpoint")
            if ep is not None:
                out.setdefault(ep, {})[name] = float(sample.value)
    return out


class LiveSource:
    """Reads a gateway at ``url``; results are kept ``ttl_s`` so a busy dashboard asks rarely."""

    def __init__(self, url: str, *, timeout_s: float = 1.0, ttl_s: float = 2.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url.rstrip("/")
        self.shown_url = public_url(self.url)
        self._timeout = timeout_s
        self._ttl = ttl_s
        self._transport = transport
        self._clock = clock
        self._cached: tuple[float, Live] | None = None

    async def get(self) -> Live:
        now = self._clock()
        if self._cached is not None and now - self._cached[0] < self._ttl:
            return self._cached[1]
        live = await self._fetch()
        self._cached = (now, live)
        return live

    async def _fetch(self) -> Live:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport,
                                         follow_redirects=False, trust_env=False) as client:
                admitted = _admitted(await _get(client, self.url + "/healthz"))
                try:
                    rates = _rates(await _get(client, self.url + "/metrics"))
                except (httpx.HTTPError, ValueError):
                    rates = {}
        except (httpx.HTTPError, ValueError, orjson.JSONDecodeError) as exc:
            # the type only: a message could echo the URL, and with it a password
            return Live(reachable=False, error=type(exc).__name__)
        return Live(reachable=True, admitted=admitted, rates=rates)
