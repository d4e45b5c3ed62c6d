"""The fake endpoint's other OpenAI APIs: ``/v1/responses`` and ``/v1/completions``.

The same script answers: a request is seen by the script as a chat body (the
Responses ``input`` and flat ``tools`` turned into ``messages`` and chat tools),
and the script's Answer is written back in the API's own shape, whole or as
that API's stream of events.
"""

from __future__ import annotations

import time
from typing import Any

from ._behaviors import Answer

__all__ = ["as_chat", "completion", "completion_chunks", "response", "response_events"]


def _messages_from_input(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    out: list[dict[str, Any]] = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if isinstance(content, list):  # [{"type": "input_text", "text": ...}]
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if item.get("type") == "function_call_output":
            out.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": str(item.get("output"))})
        elif "role" in item:
            out.append({"role": item["role"], "content": content})
    return out or [{"role": "user", "content": ""}]


def as_chat(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions body a script sees for a Responses or Completions request."""
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        return {**body, "messages": [{"role": "user", "content": str(body.get("prompt", ""))}]}
    tools = [{"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
             for t in body.get("tools") or [] if isinstance(t, dict) and t.get("type") == "function"]
    chat = {k: v for k, v in body.items() if k not in ("input", "tools", "instructions")}
    messages = _messages_from_input(body.get("input"))
    if isinstance(body.get("instructions"), str):
        messages.insert(0, {"role": "system", "content": body["instructions"]})
    return {**chat, "messages": messages, **({"tools": tools} if tools else {})}


def _output(a: Answer, n: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if a.content:
        items.append({"type": "message", "id": f"msg_fake_{n}", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": a.content, "annotations": []}]})
    for i, c in enumerate(a.calls):
        items.append({"type": "function_call", "id": f"fc_fake_{n}_{i}", "call_id": c.id or f"call_{i}",
                      "name": c.name, "arguments": c.arguments, "status": "completed"})
    return items


def response(a: Answer, body: dict[str, Any], model: str, n: int, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"resp_fake_{n}", "object": "response", "created_at": int(time.time()), "status": "completed",
        "model": model, "output": _output(a, n), "parallel_tool_calls": True,
        "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [],
        "usage": {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"],
                  "total_tokens": usage["total_tokens"]},
        "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
        "metadata": {}, "temperature": body.get("temperature"), "top_p": body.get("top_p"),
    }


def response_events(a: Answer, body: dict[str, Any], model: str, n: int,
                    usage: dict[str, int]) -> list[dict[str, Any]]:
    """The Responses API's stream: created, items with their deltas, completed."""
    final = response(a, body, model, n, usage)
    events: list[dict[str, Any]] = [{"type": "response.created",
                                     "response": {**final, "status": "in_progress", "output": []}}]
    for index, item in enumerate(final["output"]):
        started = {**item, "status": "in_progress"}
        if item["type"] == "message":
            started["content"] = []
        else:
            started["arguments"] = ""
        events.append({"type": "response.output_item.added", "output_index": index, "item": started})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            for k in range(0, len(text), 4):
                events.append({"type": "response.output_text.delta", "item_id": item["id"],
                               "output_index": index, "content_index": 0, "delta": text[k:k + 4]})
            events.append({"type": "response.output_text.done", "item_id": item["id"], "output_index": index,
                           "content_index": 0, "text": text})
        else:
            args = item["arguments"]
            for k in range(0, len(args), 8):
                events.append({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                               "output_index": index, "delta": args[k:k + 8]})
            events.append({"type": "response.function_call_arguments.done", "item_id": item["id"],
                           "output_index": index, "arguments": args})
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    events.append({"type": "response.completed", "response": final})
    return [{**e, "sequence_number": i} for i, e in enumerate(events)]


def completion(a: Answer, model: str, n: int, usage: dict[str, int], finish: str) -> dict[str, Any]:
    return {"id": f"cmpl-fake-{n}", "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "text": a.content or "", "logprobs": None, "finish_reason": finish}],
            "usage": usage}


def completion_chunks(a: Answer, model: str, n: int, finish: str) -> list[dict[str, Any]]:
    text = a.content or ""
    pieces = [text[k:k + 4] for k in range(0, len(text), 4)] or [""]
    created = int(time.time())
    chunks: list[dict[str, Any]] = [{"id": f"cmpl-fake-{n}", "object": "text_completion", "created": created,
                                     "model": model,
               "choices": [{"index": 0, "text": p, "logprobs": None, "finish_reason": None}]} for p in pieces]
    chunks[-1]["choices"][0]["finish_reason"] = finish
    return chunks
