"""Moonshot's K2 Vendor Verifier (K2VV): its file formats and its arithmetic.

K2VV (github.com/MoonshotAI/K2-Vendor-Verifier) is the best-known public
check of whether a vendor serves a model's tool calls faithfully. Reading its
files and reproducing its numbers exactly lets a parity run be compared with
the figures vendors already publish, and lets users bring K2VV's own
``samples.jsonl`` to parity unchanged. This module is written from K2VV's
README and ``tool_calls_eval.py`` as read; none of its code is used.

What K2VV does, and so what is reproduced here:

* ``samples.jsonl``: one chat-completions request body per line (K2VV sends it
  with ``**request``); ``data_index`` is the 1-based line number; messages with
  the private role ``_input`` are sent as ``system``.
* results file: one ``ValidationResult`` per request (`K2VVResult`).
* summary: counts of ``finish_reason`` ``stop`` / ``tool_calls`` / others, and,
  among ``tool_calls`` answers, how many passed JSON-Schema validation of every
  call's arguments (`K2VVSummary`, `k2vv_summary`).
* "Similarity to the official API" (README of 2025-09-22 and 2025-10-10):
  ``1 - ||v(candidate) - v(official)||_2 / D`` where ``v`` is the five counts
  (stop, tool_calls, others, schema errors, successful tool calls) and ``D`` the
  "estimated max distance", the number of requests (2000, later 4000).
* Since 2025-10-23 K2VV publishes ``tool_call_f1`` instead: F1 of the candidate's
  "called a tool" decision against the official one, paired per request
  (`k2vv_trigger_f1`), and ``schema_accuracy`` (`k2vv_schema_accuracy`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from parity.case import Case
from parity.suites.toolcall._k2vv_models import K2VVResult, K2VVSummary, K2VVTriggerF1
from parity.suites.toolcall._k2vv_validate import k2vv_result_from_exchange, k2vv_tool_calls_valid

__all__ = [
    "REQUEST_FIELDS",
    "K2VVResult",
    "K2VVSummary",
    "K2VVTriggerF1",
    "k2vv_result_from_exchange",
    "k2vv_schema_accuracy",
    "k2vv_similarity",
    "k2vv_summary",
    "k2vv_tool_calls_valid",
    "k2vv_trigger_f1",
    "load_k2vv_results",
    "load_k2vv_samples",
    "load_k2vv_summary",
]

# Keys a chat-completions endpoint accepts in the body: OpenAI's, plus the
# sampling and template extensions that vLLM, SGLang and llama.cpp accept. Any
# other key in a samples line is bookkeeping, not part of the request.
REQUEST_FIELDS = frozenset(
    {
        "messages", "tools", "tool_choice", "parallel_tool_calls", "functions",
        "function_call", "temperature", "top_p", "n", "stream", "stream_options",
        "stop", "max_tokens", "max_completion_tokens", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "user",
        "response_format", "reasoning_effort", "verbosity", "metadata", "store",
        "service_tier", "modalities", "prediction", "audio", "web_search_options",
        "prompt_cache_key", "safety_identifier",
        "top_k", "min_p", "repetition_penalty", "chat_template_kwargs", "thinking",
        "enable_thinking", "reasoning",
    }
)  # fmt: skip

# ``model`` is filled in per endpoint; K2VV overwrites it too.
_PER_ENDPOINT = frozenset({"model"})
# Becomes the case id, so it is not kept twice.
_OWN = _PER_ENDPOINT | {"id"}


def _jsonl(path: str | Path) -> Iterable[tuple[int, Any]]:
    """(1-based line number, parsed value) for each non-blank line, as K2VV numbers them."""
    with Path(path).open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield number, orjson.loads(line)


def load_k2vv_samples(path: str | Path) -> list[Case]:
    """Cases from a K2VV ``samples.jsonl``, one per non-blank line.

    The body is kept as sent by K2VV: ``_input`` roles become ``system``;
    ``model`` and keys that are not request fields are left out of the body
    (the latter are kept under ``expected["extra"]`` so nothing is lost). The
    case id is the line's own ``id`` if it has one, else ``k2vv-<line>``; the
    line number is kept as ``expected["data_index"]`` to pair with K2VV results.
    """
    cases: list[Case] = []
    for number, raw in _jsonl(path):
        if not isinstance(raw, dict):
            raise ValueError(f"{path}:{number}: a samples line must be a JSON object")
        body = {k: v for k, v in raw.items() if k in REQUEST_FIELDS}
        extra = {k: v for k, v in raw.items() if k not in REQUEST_FIELDS and k not in _OWN}
        if not isinstance(body.get("messages"), list):
            raise ValueError(f"{path}:{number}: no messages list")
        body["messages"] = [
            {**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "_input" else m
            for m in body["messages"]
        ]
        expected: dict[str, Any] = {"source": "k2vv", "data_index": number}
        if extra:
            expected["extra"] = extra
        own_id = raw.get("id")
        case_id = str(own_id) if isinstance(own_id, str | int) else f"k2vv-{number:05d}"
        cases.append(Case(id=case_id, body=body, expected=expected, tags=("k2vv",)))
    return cases


def load_k2vv_results(path: str | Path) -> list[K2VVResult]:
    """The results file as typed records, one per ``data_index``, sorted.

    K2VV appends while it runs and, in incremental mode, re-runs failed
    requests, so an index may appear more than once; like K2VV's final
    de-duplication, the record with the latest ``last_run_at`` wins (on a tie,
    the later line).
    """
    latest: dict[int, K2VVResult] = {}
    for _number, raw in _jsonl(path):
        result = K2VVResult.model_validate(raw)
        held = latest.get(result.data_index)
        if held is None or (result.last_run_at or "") >= (held.last_run_at or ""):
            latest[result.data_index] = result
    return [latest[i] for i in sorted(latest)]


def load_k2vv_summary(path: str | Path) -> K2VVSummary:
    """A K2VV ``summary.json``."""
    return K2VVSummary.model_validate(orjson.loads(Path(path).read_bytes()))


def k2vv_summary(results: Iterable[K2VVResult], model: str = "") -> K2VVSummary:
    """K2VV's counts over results, as its ``compute_summary`` counts them.

    A ``tool_calls`` answer is successful only when ``tool_calls_valid`` is
    true; false *or null* (``tool_calls`` with no calls) counts as a schema
    error. A missing finish_reason (failed request) counts in no finish bucket.
    """
    counts = {
        "success": 0,
        "failure": 0,
        "stop": 0,
        "tool_calls": 0,
        "others": 0,
        "ok": 0,
        "bad": 0,
    }
    others: dict[str, int] = {}
    for r in results:
        counts["success" if r.status == "success" else "failure"] += 1
        if r.finish_reason == "stop":
            counts["stop"] += 1
        elif r.finish_reason == "tool_calls":
            counts["tool_calls"] += 1
            counts["ok" if r.tool_calls_valid else "bad"] += 1
        elif r.finish_reason:
            counts["others"] += 1
            others[r.finish_reason] = others.get(r.finish_reason, 0) + 1
    return K2VVSummary(
        model=model,
        success_count=counts["success"],
        failure_count=counts["failure"],
        finish_stop=counts["stop"],
        finish_tool_calls=counts["tool_calls"],
        finish_others=counts["others"],
        finish_others_detail=others,
        schema_validation_error_count=counts["bad"],
        successful_tool_call_count=counts["ok"],
    )


def k2vv_similarity(
    candidate: K2VVSummary, reference: K2VVSummary, max_distance: float | None = None
) -> float:
    """K2VV's "similarity to the official API": ``1 - ||v(c) - v(r)|| / D``.

    ``v`` is `K2VVSummary.vector`; ``D`` is ``max_distance`` or, by default,
    the reference's request count (K2VV's "estimated_max_distance" was exactly
    its sample count: 2000, then 4000). Not clamped: as published, it goes
    below 0 when the counts differ by more than D.
    """
    d = float(reference.total if max_distance is None else max_distance)
    if d <= 0:
        raise ValueError("max_distance must be positive (the reference summarises no requests)")
    return 1.0 - math.dist(candidate.vector(), reference.vector()) / d


def k2vv_schema_accuracy(summary: K2VVSummary) -> float | None:
    """``successful_tool_call_count / finish_tool_calls``; None when nothing called a tool."""
    if summary.finish_tool_calls == 0:
        return None
    return summary.successful_tool_call_count / summary.finish_tool_calls


def k2vv_trigger_f1(
    candidate: Iterable[K2VVResult], reference: Iterable[K2VVResult]
) -> K2VVTriggerF1:
    """Pair results by ``data_index`` and score the "called a tool" decision.

    Positive means ``finish_reason == "tool_calls"``; stop, others and failed
    requests are all negative, as in K2VV's README. Indices present in only one
    set are ignored. Empty denominators give 0.0, as the K2VV scripts do.
    """
    ref = {r.data_index: r.finish_reason == "tool_calls" for r in reference}
    tp = fp = fn = tn = 0
    for r in candidate:
        if r.data_index not in ref:
            continue
        mine, theirs = r.finish_reason == "tool_calls", ref[r.data_index]
        tp += mine and theirs
        fp += mine and not theirs
        fn += theirs and not mine
        tn += not mine and not theirs
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return K2VVTriggerF1(tp=tp, fp=fp, fn=fn, tn=tn, precision=precision, recall=recall, f1=f1)
