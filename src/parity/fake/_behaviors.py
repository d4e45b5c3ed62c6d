"""What the fake endpoint does for a request: small data classes, composed by scripts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """A tool call to return; ``arguments`` is sent verbatim (may be invalid JSON on purpose)."""

    name: str
    arguments: str = "{}"
    id: str | None = None


@dataclass(frozen=True)
class Answer:
    """A well-formed completion (streamed as SSE when the request asks for a stream)."""

    content: str | None = "Hello from the fake endpoint."
    calls: tuple[Call, ...] = ()
    finish_reason: str | None = None  # None: derived ("tool_calls" if calls else "stop")
    usage: dict[str, int] | None = None
    reasoning_content: str | None = None
    logprobs: list[dict[str, Any]] | None = None
    # streaming faults
    drop_tool_delta: int | None = None  # index of the argument delta chunk to drop
    duplicate_tool_delta: int | None = None
    cut_after_chunks: int | None = None  # close the stream without [DONE] after N chunks
    chunk_delay_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)  # merged into the response body


@dataclass(frozen=True)
class HttpError:
    status: int
    message: str = "upstream error"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Garbage:
    """A 2xx body that is not a chat completion."""

    body: bytes = b"<html><body>502 Bad Gateway</body></html>"
    content_type: str = "text/html"
    status: int = 200


@dataclass(frozen=True)
class Slow:
    """Wait, then behave as ``then``."""

    delay_s: float
    then: Behavior


Behavior = Answer | HttpError | Garbage | Slow
Script = Callable[[dict[str, Any]], Behavior]


class Sequence_:
    """Behaviors in order, one per request, the last one repeated: e.g. 429, 429, ok."""

    def __init__(self, behaviors: Sequence[Behavior]) -> None:
        if not behaviors:
            raise ValueError("at least one behavior")
        self._behaviors = list(behaviors)
        self.calls = 0

    def __call__(self, body: dict[str, Any]) -> Behavior:
        b = self._behaviors[min(self.calls, len(self._behaviors) - 1)]
        self.calls += 1
        return b


def example_value(schema: dict[str, Any]) -> Any:
    """A small value that validates against ``schema`` (enough for the fake's tool calls)."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        required = schema.get("required") or []
        return {k: example_value(props.get(k, {})) for k in required}
    if t == "array":
        return [example_value(schema.get("items") or {})] if schema.get("minItems") else []
    if t == "integer":
        return int(schema.get("minimum", 1))
    if t == "number":
        return float(schema.get("minimum", 1.5))
    if t == "boolean":
        return True
    if t == "null":
        return None
    return "example"


def default_script(body: dict[str, Any]) -> Behavior:
    """Call the first tool with schema-valid arguments when tools are offered, else chat."""
    import orjson

    tools = body.get("tools") or []
    choice = body.get("tool_choice", "auto")
    if tools and choice != "none":
        fn = tools[0].get("function", {})
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            fn = next((t["function"] for t in tools if t.get("function", {}).get("name") == name), fn)
        args = example_value(fn.get("parameters") or {})
        return Answer(content=None, calls=(Call(fn.get("name", "tool"), orjson.dumps(args).decode()),))
    return Answer()
