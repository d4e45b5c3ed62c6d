"""Evidence as reports show it: a title (check, case, repeat or item) and labelled text fields.

Nothing here is escaped; each renderer escapes for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parity.evidence import Evidence, ExchangeExcerpt, ItemGap, RequestExcerpt, ResponseExcerpt
from parity.exchange import ExchangeStatus

from ._format import as_text

# The answer's fields, shown first in a legacy excerpt (as the tool-call suite stored them).
_LEGACY_KEYS = ("message", "content", "tool_calls", "finish_reason", "error")


@dataclass(frozen=True)
class Example:
    """One excerpt; check, case_id, repeat and item are empty when the evidence has none."""

    check: str
    case_id: str
    repeat: str
    fields: list[tuple[str, str]]
    item: str = ""

    def title(self) -> str:
        parts = [self.check, self.item and f"item {self.item}", self.case_id and f"case {self.case_id}",
                 self.repeat and f"repeat {self.repeat}"]
        return " · ".join(p for p in parts if p) or "excerpt"


def _answer(r: ResponseExcerpt) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if r.status is not None and r.status is not ExchangeStatus.OK:
        out.append(("status", r.status.value + (f" (HTTP {r.http_status})" if r.http_status else "")))
    if r.content:
        out.append(("content", r.content))
    out += [("tool call", f"{as_text(c.name or '?')}({c.arguments})") for c in r.tool_calls]
    if r.finish_reason:
        out.append(("finish reason", r.finish_reason))
    if r.error:
        out.append(("error", r.error))
    if r.n_choices != 1:
        out.append(("choices", str(r.n_choices)))
    if r.stream_anomalies:
        out.append(("stream anomalies", "; ".join(r.stream_anomalies)))
    if r.usage:
        out.append(("usage", as_text(r.usage)))
    return out


def _request(q: RequestExcerpt) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if q.params:
        out.append(("request", as_text(q.params)))
    if q.tools:
        out.append(("tools offered", ", ".join(as_text(t or "?") for t in q.tools)))
    if q.last_message is not None:
        of = f" (of {q.messages})" if q.messages > 1 else ""
        out.append((f"last message{of}", f"{q.last_message.role or '?'}: {q.last_message.content}"))
    return out


def _exchange(e: ExchangeExcerpt) -> Example:
    fields: list[tuple[str, str]] = []
    if e.probe:
        fields.append(("probe", e.probe))
    if e.message:
        fields.append(("message", e.message))
    fields += _answer(e.response)
    if e.request is not None:
        fields += _request(e.request)
    return Example(check=e.check or "", case_id=e.case_id, repeat=str(e.repeat), fields=fields)


def _legacy(ev: dict[str, Any]) -> Example:
    """An excerpt kept as an older version wrote it: its fields as they come."""
    fields: list[tuple[str, str]] = []
    for key in _LEGACY_KEYS:
        v = ev.get(key)
        if v in (None, "", []):
            continue
        if key == "tool_calls" and isinstance(v, list):
            for call in v:
                c = call if isinstance(call, dict) else {"name": call}
                fields.append(("tool call", f"{as_text(c.get('name', '?'))}({as_text(c.get('arguments', ''))})"))
        else:
            fields.append((key.replace("_", " "), as_text(v)))
    shown = {"check", "case_id", "repeat", *_LEGACY_KEYS}
    fields.extend((as_text(k), as_text(v)) for k, v in ev.items() if k not in shown and v not in (None, "", []))
    return Example(
        check=as_text(ev.get("check") or ""),
        case_id=as_text(ev.get("case_id") or ""),
        repeat=as_text(ev.get("repeat") if ev.get("repeat") is not None else ""),
        fields=fields,
    )


def example(ev: Evidence) -> Example:
    """One piece of evidence as a report shows it."""
    if isinstance(ev, ExchangeExcerpt):
        return _exchange(ev)
    if isinstance(ev, ItemGap):
        fields = [("difference", f"{ev.difference:+.3f} (candidate minus reference, mean score)")]
        if ev.answer:
            fields.append(("answer", ev.answer))
        return Example(check="", case_id="", repeat="", item=ev.item, fields=fields)
    return _legacy(ev.data)


def evidence_text(ev: Evidence) -> str:
    """One piece of evidence as plain text: its title, then a 'field: value' line per field."""
    e = example(ev)
    return "\n".join([e.title(), *(f"{k}: {v}" for k, v in e.fields)])
