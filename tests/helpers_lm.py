"""A toy language model for the fake endpoint: per-prompt token distributions, seeded."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from typing import Any

from parity.fake import Answer, Script
from parity.suites.equality import EqualitySuite

VOCAB = [f" w{i}" for i in range(12)]


def _logits(prompt: str, prev: str) -> list[float]:
    h = hashlib.sha256(f"{prompt}|{prev}".encode()).digest()
    return [2.5 * (b / 255.0 - 0.5) * 2 for b in h[: len(VOCAB)]]


def _dist(prompt: str, prev: str, sharpen: float) -> list[float]:
    z = [sharpen * x for x in _logits(prompt, prev)]
    m = max(z)
    w = [math.exp(x - m) for x in z]
    s = sum(w)
    return [x / s for x in w]


def lm_script(sharpen: float = 1.0, logprobs: bool = True, tilt: float = 0.0,
              ignores_temperature: bool = False) -> Script:
    """Samples ``max_tokens`` tokens with the request's seed (the most likely token at
    temperature 0, unless ``ignores_temperature``); ``sharpen`` != 1 shifts every next-token
    distribution (as a lower temperature would), ``tilt`` adds a small per-token logit
    offset (as a different quantization would: greedy answers change on some prompts)."""

    def script(body: dict[str, Any]) -> Answer:
        prompt = str(body["messages"][-1]["content"])
        rng = random.Random(int(body.get("seed", 0)))
        greedy = body.get("temperature") == 0 and not ignores_temperature
        prev, tokens, lps = "", [], []
        for _ in range(int(body.get("max_tokens", 16))):
            p = _dist(prompt, prev, sharpen)
            if tilt:
                p = [x * math.exp(tilt * math.sin(7.0 * j + len(prev))) for j, x in enumerate(p)]
                p = [x / sum(p) for x in p]
            i = max(range(len(VOCAB)), key=p.__getitem__) if greedy else \
                rng.choices(range(len(VOCAB)), weights=p)[0]
            top = sorted(range(len(VOCAB)), key=lambda j: -p[j])[:5]
            lps.append({"token": VOCAB[i], "logprob": math.log(p[i]),
                        "top_logprobs": [{"token": VOCAB[j], "logprob": math.log(p[j])} for j in top]})
            tokens.append(VOCAB[i])
            prev = VOCAB[i]
        return Answer(content="".join(tokens), logprobs=lps if logprobs else None,
                      finish_reason="length")

    return script


Run = Callable[..., Any]

def small_suite(**kw: Any) -> EqualitySuite:
    return EqualitySuite(**{"budget": 48, "prompts": 12, "n_permutations": 400, **kw})
