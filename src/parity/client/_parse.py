"""Turn response bodies into Completions, or say precisely why they are not one."""

from __future__ import annotations

from typing import Any

from parity.exchange import Completion, ToolCall


class InvalidBody(ValueError):
    """A 2xx body that is not a chat completion."""


def _tool_calls(raw: Any) -> list[ToolCall]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidBody("message.tool_calls is not a list")
    calls: list[ToolCall] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidBody(f"message.tool_calls[{i}] is not an object")
        fn = item.get("function")
        if not isinstance(fn, dict):
            raise InvalidBody(f"message.tool_calls[{i}].function is missing")
        args = fn.get("arguments")
        if args is None:
            args = ""
        elif not isinstance(args, str):
            # Some servers send an object instead of a JSON string; keep it checkable.
            import orjson

            args = orjson.dumps(args).decode()
        name = fn.get("name")
        calls.append(
            ToolCall(
                index=item.get("index", i) if isinstance(item.get("index", i), int) else i,
                id=item.get("id") if isinstance(item.get("id"), str) else None,
                type=item.get("type") if isinstance(item.get("type"), str) else None,
                name=name if isinstance(name, str) else None,
                arguments=args,
            )
        )
    return calls


def _text(value: Any, field: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    raise InvalidBody(f"{field} is neither a string nor null")


def parse_completion(body: Any) -> Completion:
    """The first choice of a chat.completion body, normalised; raises InvalidBody."""
    if not isinstance(body, dict):
        raise InvalidBody("body is not a JSON object")
    if "error" in body and "choices" not in body:
        err = body["error"]
        msg = err.get("message") if isinstance(err, dict) else err
        raise InvalidBody(f"error object in a 2xx body: {str(msg)[:200]}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise InvalidBody("no choices")
    first = choices[0]
    if not isinstance(first, dict):
        raise InvalidBody("choices[0] is not an object")
    message = first.get("message")
    if not isinstance(message, dict):
        raise InvalidBody("choices[0].message is missing")
    finish = first.get("finish_reason")
    usage = body.get("usage")
    logprobs = first.get("logprobs")
    return Completion(
        content=_text(message.get("content"), "message.content"),
        reasoning_content=_text(
            message.get("reasoning_content", message.get("reasoning")), "message.reasoning_content"
        ),
        tool_calls=_tool_calls(message.get("tool_calls")),
        finish_reason=finish if isinstance(finish, str) else None,
        usage=usage if isinstance(usage, dict) else None,
        logprobs=logprobs if isinstance(logprobs, dict) else None,
        n_choices=len(choices),
        choices=[
            {"content": (c.get("message") or {}).get("content"), "finish_reason": c.get("finish_reason")}
            for c in choices
            if isinstance(c, dict)
        ]
        if len(choices) > 1
        else [],
    )
