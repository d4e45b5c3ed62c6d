"""A script that behaves like a healthy server honouring the API (deterministic, no model).

``default_script`` is crude on purpose; this one honours what a conformance
probe asks of a server: ``max_tokens`` (-> ``length``), ``stop``, ``n`` (the
fake app repeats the choice), ``seed`` and ``temperature`` (greedy at 0 or a
tiny ``top_p``, a seed- or call-dependent answer otherwise), penalties (no
repeated words), ``tool_choice`` (none / auto / required / named),
``parallel_tool_calls``, ``logprobs``, ``response_format`` JSON schemas, a
tool result sent back, and ``usage`` that counts the same whether streamed.

A "token" here is a word: the content is words joined by single spaces.
Tests break it by rewriting the body before it (a parameter ignored) or the
Answer after it (a faulty response).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import orjson

from ._behaviors import Answer, Behavior, Call, Script, example_value

FILLER = "and that is all there is to say about it for today my friend".split()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(body: dict[str, Any]) -> int:
    """A stable count for a body's prompt: identical messages and tools, identical count."""
    messages = body.get("messages") or []
    n = sum(len(_text(m.get("content"))) // 4 + 4 for m in messages if isinstance(m, dict))
    return n + len(orjson.dumps(body.get("tools") or [])) // 16


class CompliantScript:
    """``FakeEndpoint(CompliantScript())``: one instance per endpoint (it counts calls)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, body: dict[str, Any]) -> Behavior:
        self.calls += 1
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
        choice = body.get("tool_choice", "auto")
        last = messages[-1] if messages else {}
        if tools and choice != "none" and last.get("role") != "tool":
            return self._calls(body, tools, choice)
        return self._text(body, self._words(body, messages, last))

    def _calls(self, body: dict[str, Any], tools: list[dict[str, Any]], choice: Any) -> Answer:
        fns = [t.get("function") or {} for t in tools]
        fn = fns[0]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            fn = next((f for f in fns if f.get("name") == wanted), fn)
        count = 2 if body.get("parallel_tool_calls") is True else 1
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:8]
        calls = tuple(
            Call(str(fn.get("name", "tool")), orjson.dumps(example_value(fn.get("parameters") or {})).decode(),
                 id=f"call_{digest}_{i}")
            for i in range(count)
        )
        used = sum(len(c.arguments) // 4 + 2 for c in calls)
        return Answer(content=None, calls=calls, usage=_usage(body, used))

    def _words(self, body: dict[str, Any], messages: list[dict[str, Any]],
               last: dict[str, Any]) -> list[str]:
        fmt = body.get("response_format") or {}
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            return [orjson.dumps(example_value(schema)).decode()]
        if last.get("role") == "tool":
            return ["The", "tool", "says:", *_text(last.get("content")).split()]
        words = ["Answer:", *_text(last.get("content")).split()[:40], *FILLER]
        if _sampled(body):
            seed = body.get("seed")
            words.append(f"sample-{seed if isinstance(seed, int) else 'call' + str(self.calls)}")
        if body.get("frequency_penalty") or body.get("presence_penalty"):
            words = list(dict.fromkeys(words))  # a penalised model does not repeat itself
        return words

    def _text(self, body: dict[str, Any], words: list[str]) -> Answer:
        finish = "stop"
        limit = body.get("max_tokens", body.get("max_completion_tokens"))
        if isinstance(limit, int) and len(words) > limit:
            words, finish = words[:limit], "length"
        content = " ".join(words)
        stops = body.get("stop") or []
        for stop in [stops] if isinstance(stops, str) else stops:
            if isinstance(stop, str) and stop and stop in content:
                content, finish = content[: content.index(stop)], "stop"
        logprobs = _logprobs(content, body) if body.get("logprobs") else None
        return Answer(content=content, finish_reason=finish, logprobs=logprobs,
                      usage=_usage(body, len(content.split())))


def _sampled(body: dict[str, Any]) -> bool:
    """True when the answer is a sample rather than the greedy one."""
    t = body.get("temperature", 1.0)
    top_p = body.get("top_p", 1.0)
    return isinstance(t, int | float) and t > 0 and not (isinstance(top_p, int | float) and top_p <= 0.05)


def _usage(body: dict[str, Any], completion: int) -> dict[str, int]:
    p = prompt_tokens(body)
    return {"prompt_tokens": p, "completion_tokens": completion, "total_tokens": p + completion}


def _logprobs(content: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    k = body.get("top_logprobs") or 0
    out = []
    for i, word in enumerate(content.split(" ")):
        token = word if i == 0 else " " + word
        top = [{"token": token, "logprob": -0.1}, {"token": " else", "logprob": -3.0}][: int(k)]
        out.append({"token": token, "logprob": -0.1, "top_logprobs": top})
    return out


def compliant_script() -> CompliantScript:
    """A fresh well-behaved script (one per FakeEndpoint)."""
    return CompliantScript()


def tampered(
    script: Script,
    before: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    after: Callable[[dict[str, Any], Answer], Behavior] | None = None,
) -> Script:
    """``script`` with the body rewritten before it (a server ignoring a parameter) and/or
    its Answers rewritten after it (a faulty response); ``after`` sees the body as sent."""

    def wrapped(body: dict[str, Any]) -> Behavior:
        behavior = script(before(copy.deepcopy(body)) if before else body)
        if after is not None and isinstance(behavior, Answer):
            return after(body, behavior)
        return behavior

    return wrapped
