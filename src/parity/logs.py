"""Structured logging: one event per line, JSON or key=value, secrets never written.

Used by the gateway and ``parity verify``. Events are log records whose message
is the event name and whose ``fields`` attribute holds the values; the
formatter picks the line shape. Configuration (format, level, stream) happens at the CLI edge
with :func:`configure_logging`; the library only emits.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson

__all__ = ["EVENT_LOGGER", "FORMATS", "RUN_LOGGER", "EventFormatter", "EventLog", "configure_logging", "parse_kv"]

EVENT_LOGGER = "parity.gateway.events"
RUN_LOGGER = "parity.run.events"
FORMATS = ("json", "kv")
_MAX_VALUE = 500  # characters per field: an upstream error text is bounded here too


_SCALARS = frozenset((int, float, bool))
_BARE = re.compile(r"[\w.\-:/@+,\[\]]+", re.ASCII)


def _kv_value(v: Any) -> str:
    t = type(v)
    if t is int or t is float:  # digits, '.', '-', '+', 'e', 'inf', 'nan': always bare
        return str(v)
    if isinstance(v, str):
        text = v
    elif isinstance(v, int | float) and not isinstance(v, bool):
        text = str(v)
    else:
        text = orjson.dumps(v).decode()
    if _BARE.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class EventFormatter(logging.Formatter):
    """``json``: one object per line; ``kv``: ``ts=... level=... event=... key=value ...``."""

    def __init__(self, fmt: str = "kv") -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
        self.fmt = fmt

    def format(self, record: logging.LogRecord) -> str:
        fields: Mapping[str, Any] = getattr(record, "fields", None) or {}
        head = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name,
                "event": record.getMessage() if fields or record.name.endswith(".events") else "message"}
        if not fields and not record.name.endswith(".events"):
            fields = {"message": record.getMessage()}
        line = {**head, **fields}
        if self.fmt == "json":
            return orjson.dumps(line, default=str).decode()
        parts = []
        for k, v in line.items():  # _kv_value, with the plain string inlined: 15 fields a line
            if type(v) is str and _BARE.fullmatch(v):
                parts.append(f"{k}={v}")
            else:
                parts.append(f"{k}={_kv_value(v)}")
        return " ".join(parts)


def parse_kv(line: str) -> dict[str, str]:
    """Parse one ``kv`` line back into a dict (tests and log tooling)."""
    out: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n:
        eq = line.index("=", i)
        key = line[i:eq]
        i = eq + 1
        if i < n and line[i] == '"':
            i += 1
            buf: list[str] = []
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                    buf.append("\n" if line[i] == "n" else line[i])
                else:
                    buf.append(line[i])
                i += 1
            out[key] = "".join(buf)
            i += 2
        else:
            end = line.find(" ", i)
            end = n if end < 0 else end
            out[key] = line[i:end]
            i = end + 1
    return out


class EventLog:
    """Emits events; every string value passes through ``redact`` and is bounded."""

    def __init__(self, redact: Callable[[str], str] | None = None, logger: str = EVENT_LOGGER) -> None:
        self._log = logging.getLogger(logger)
        self._redact = redact or (lambda s: s)

    def enabled(self, level: int = logging.INFO) -> bool:
        return self._log.isEnabledFor(level)

    def emit(self, event: str, level: int = logging.INFO, **fields: Any) -> None:
        if not self._log.isEnabledFor(level):
            return
        clean: dict[str, Any] = {}
        redact = self._redact
        for k, v in fields.items():  # _clean, with the flat values inlined
            if v is None:
                continue
            t = type(v)
            if t is str:
                v = redact(v)
                clean[k] = v if len(v) <= _MAX_VALUE else v[: _MAX_VALUE - 1] + "…"
            else:
                clean[k] = v if t in _SCALARS else self._clean(v)
        # Logger.log without the caller lookup (a stack walk per line; no format here shows
        # the caller): the same record, filters and handlers.
        log = self._log
        log.handle(log.makeRecord(log.name, level, "(unknown file)", 0, event, (), None,
                                  "(unknown function)", {"fields": clean}))

    def _clean(self, v: Any) -> Any:
        if type(v) in _SCALARS:
            return v
        if isinstance(v, str):
            v = self._redact(v)
            return v if len(v) <= _MAX_VALUE else v[: _MAX_VALUE - 1] + "…"
        if isinstance(v, list | tuple):
            return [self._clean(x) for x in v]
        if isinstance(v, dict):
            return {str(k): self._clean(x) for k, x in v.items()}
        return v


def configure_logging(fmt: str = "kv", level: str | int = "info", stream: IO[str] | None = None) -> logging.Handler:
    """The CLI edge: every ``parity`` logger writes one event per line to ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(EventFormatter(fmt))
    root = logging.getLogger("parity")
    for old in [h for h in root.handlers if isinstance(h.formatter, EventFormatter)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    root.propagate = False
    return handler

