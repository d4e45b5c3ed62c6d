"""A fake endpoint for the watch tests: first-token reports with sampling noise, switchable."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from parity.fake import Answer, Call, FakeEndpoint, HttpError


def _noise(*parts: object) -> float:
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 - 0.5


@dataclass
class Served:
    """What a fake server serves; tests flip ``shift``/``calls`` to make it change."""

    shift: float = 0.0  # added to the first token's probability
    calls: bool = True  # the canary: calls the tool or not
    name: str = "x"  # keys the noise, so two servers of one model differ only by noise
    logprobs: str = "yes"  # "yes"; "drop": answers without them; "refuse": 400 when asked for them

    def __call__(self, body: dict[str, Any]) -> Answer | HttpError:
        if self.logprobs == "refuse" and body.get("logprobs"):
            return HttpError(400, "logprobs are not supported by this provider")
        answer = self._answer(body)
        if self.logprobs == "drop":
            return Answer(content=answer.content, calls=answer.calls, usage=answer.usage)
        return answer

    def _answer(self, body: dict[str, Any]) -> Answer:
        text = str(body["messages"][-1]["content"])
        usage = {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}
        if body.get("tools"):
            if self.calls:
                return Answer(content=None, calls=(Call("get_weather", '{"city": "Paris"}'),), usage=usage)
            return Answer(content="It is sunny.", usage=usage)
        base = 0.3 + 0.4 * (_noise(text) + 0.5)
        if body.get("temperature") == 0.0:  # greedy: the likelier token, whatever the seed
            return Answer(content=f"{'A' if base + self.shift >= 0.5 else 'B'} c d", usage=usage)
        p = min(0.98, max(0.02, base + self.shift + 0.01 * _noise(self.name, body.get("seed"))))
        top = [{"token": "A", "logprob": math.log(p)}, {"token": "B", "logprob": math.log(1 - p)}]
        word = "A" if _noise("draw", body.get("seed")) + 0.5 < p else "B"
        return Answer(content=f"{word} c d", usage=usage,
                      logprobs=[{"token": word, "logprob": top[0]["logprob"], "top_logprobs": top}])


def fake(served: Served) -> FakeEndpoint:
    return FakeEndpoint(served)
