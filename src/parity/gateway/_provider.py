"""The OpenRouter ``provider`` object in a request body, mapped onto the routing plan.

Fields honoured: ``order``, ``ignore``, ``only``, ``allow_fallbacks``, ``sort``,
``max_price`` and ``quantizations``. Provider names are endpoint names (matched
case-insensitively); unknown names are ignored, as OpenRouter does. Fields
OpenRouter defines that have no meaning here (``data_collection``, ``zdr``, ...) are
accepted and ignored; anything else is a 400. The object is
removed from the body before it goes upstream, unless the upstream is itself a
router that reads it (an OpenRouter base URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._errors import bad_request
from ._router import Plan
from ._upstream import Upstream

__all__ = ["ProviderPrefs", "apply_provider", "parse_provider", "wants_provider"]

_LIST_MAX, _NAME_MAX = 64, 128
_IGNORED = frozenset({"require_parameters", "data_collection", "zdr", "enforce_distillable_text",
                      "experimental", "preferred_min_throughput", "preferred_max_latency"})
_SORTS = ("price", "latency", "throughput")
FORWARD_HOSTS = ("openrouter.ai",)  # routers that read the provider object themselves


@dataclass(frozen=True)
class ProviderPrefs:
    raw: dict[str, Any]
    order: tuple[str, ...] = ()
    ignore: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    allow_fallbacks: bool = True
    sort: str | None = None
    max_prompt: float | None = None
    max_completion: float | None = None
    quantizations: frozenset[str] | None = None
    ignored_fields: tuple[str, ...] = field(default=())


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > _LIST_MAX or not all(
            isinstance(v, str) and 0 < len(v) <= _NAME_MAX for v in value):
        raise bad_request(f"'provider.{key}' must be an array of at most {_LIST_MAX} provider names",
                          param=f"provider.{key}")
    return tuple(v.lower() for v in value)


def _price(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"'provider.max_price.{key}' must be a number (USD per million tokens)",
                          param=f"provider.max_price.{key}")
    try:
        price = float(value)
    except ValueError:
        raise bad_request(f"'provider.max_price.{key}' must be a number", param="provider.max_price") from None
    if not price >= 0:
        raise bad_request(f"'provider.max_price.{key}' must be >= 0", param="provider.max_price")
    return price


def parse_provider(value: Any) -> ProviderPrefs:
    """Validate a client's ``provider`` object (bounded; a clear 400 on anything malformed)."""
    if not isinstance(value, dict):
        raise bad_request("'provider' must be an object", param="provider")
    unknown = sorted(k for k in value if k not in _IGNORED and k not in {
        "order", "ignore", "only", "allow_fallbacks", "sort", "max_price", "quantizations"})
    if unknown:
        raise bad_request(f"'provider' has unsupported field(s): {', '.join(k[:40] for k in unknown[:10])}",
                          param="provider")
    fallbacks = value.get("allow_fallbacks", True)
    if not isinstance(fallbacks, bool):
        raise bad_request("'provider.allow_fallbacks' must be a boolean", param="provider.allow_fallbacks")
    sort = value.get("sort")
    if isinstance(sort, dict):  # newer form: {"by": "price", "partition": ...}
        sort = sort.get("by")
    if sort is not None and sort not in _SORTS:
        raise bad_request(f"'provider.sort' must be one of {', '.join(_SORTS)}", param="provider.sort")
    max_price = value.get("max_price") or {}
    if not isinstance(max_price, dict):
        raise bad_request("'provider.max_price' must be an object", param="provider.max_price")
    return ProviderPrefs(
        raw=value,
        order=_names(value["order"], "order") if "order" in value else (),
        ignore=frozenset(_names(value["ignore"], "ignore")) if "ignore" in value else frozenset(),
        only=frozenset(_names(value["only"], "only")) if "only" in value else None,
        allow_fallbacks=fallbacks, sort=sort,
        max_prompt=_price(max_price.get("prompt"), "prompt"),
        max_completion=_price(max_price.get("completion"), "completion"),
        quantizations=(frozenset(_names(value["quantizations"], "quantizations"))
                       if "quantizations" in value else None),
        ignored_fields=tuple(sorted(k for k in value if k in _IGNORED)),
    )


def wants_provider(up: Upstream) -> bool:
    host = urlsplit(up.cfg.base_url).hostname or ""
    return any(host == h or host.endswith("." + h) for h in FORWARD_HOSTS)


def _prices(up: Upstream, alias_prices: Mapping[str, float]) -> tuple[float | None, float | None]:
    price = getattr(up.cfg, "price", None)
    if price is not None:
        return getattr(price, "input", None), getattr(price, "output", None)
    single = alias_prices.get(up.name)  # the alias's one figure per million tokens, for both
    return single, single


def _excluded(up: Upstream, p: ProviderPrefs, alias_prices: Mapping[str, float]) -> str | None:
    name = up.name.lower()
    if name in p.ignore:
        return "ignored by the client (provider.ignore)"
    if p.only is not None and name not in p.only:
        return "not in the client's provider.only"
    if p.quantizations is not None:
        q = (up.cfg.declared.quantization or "").lower()
        if q not in p.quantizations:
            return f"declared quantization {q or 'unknown'!r} not in provider.quantizations"
    inp, out = _prices(up, alias_prices)
    for limit, price, what in ((p.max_prompt, inp, "prompt"), (p.max_completion, out, "completion")):
        if limit is not None and (price is None or price > limit):
            shown = "no price configured" if price is None else f"{price:g} $/Mtok"
            return f"{what} price ({shown}) above provider.max_price.{what} {limit:g}"
    return None


def apply_provider(plan: Plan, p: ProviderPrefs, alias_prices: Mapping[str, float],
                   latency: Mapping[str, float | None], max_attempts: int) -> Plan:
    """The router's full admissible order, filtered and reordered by the client's prefs."""
    kept: list[Upstream] = []
    excluded = dict(plan.excluded)
    for up in plan.order:
        why = _excluded(up, p, alias_prices)
        if why is None:
            kept.append(up)
        else:
            excluded[up.name] = why
    if p.sort == "price":
        kept.sort(key=lambda u: (_prices(u, alias_prices)[0] is None, _prices(u, alias_prices)[0] or 0.0))
    elif p.sort in ("latency", "throughput"):  # throughput: the lowest latency, the signal measured here
        kept.sort(key=lambda u: (latency.get(u.name) is None, latency.get(u.name) or 0.0))
    rank = {n: i for i, n in enumerate(p.order)}
    kept.sort(key=lambda u: rank.get(u.name.lower(), len(rank)))  # stable: the rest keep their order
    if not p.allow_fallbacks:
        named = [u for u in kept if u.name.lower() in rank]
        kept = named or kept[:1]
        for up in plan.order:
            if up not in kept and up.name not in excluded:
                excluded[up.name] = "provider.allow_fallbacks is false"
    return Plan(kept[:max_attempts], excluded, plan.retry_after_s)
