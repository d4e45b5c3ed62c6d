"""stop, n, logprobs, response_format: honoured, or clearly refused (FAILURE-MODES rows 16-18)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from parity.case import Case
from parity.checks import SchemaCache
from parity.checks.conformance import check_json_output, check_logprobs, check_n, check_stop

from ._data import CITY_SCHEMA
from ._probe import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Assessment,
    Probe,
    Steps,
    answer,
    completion,
    excerpt,
    must,
    user,
)

_WORD = re.compile(r"[A-Za-z]{4,}")


def choose_stop(text: str) -> str | None:
    """A word from the later part of ``text`` (deterministic): generation must end before it."""
    words = [(m.start(), m.group(0)) for m in _WORD.finditer(text)]
    later = [w for at, w in words if at >= len(text) // 3]
    pick = later[0] if later else (words[-1][1] if len(words) > 1 else None)
    return pick


class StopHonoured(Probe):
    name = "params.stop"
    description = ("a stop string taken from the endpoint's own free answer ends the same "
                   "request early and never appears in the content")
    rows = (18,)
    max_follow_ups = 1
    _BODY: ClassVar[dict[str, Any]] = {"messages": [user("Write a short paragraph about cats and dogs.")],
             "temperature": 0, "max_tokens": 60}

    def cases(self) -> list[Case]:
        return [self.case("free", dict(self._BODY))]

    def follow_ups(self, first: Steps) -> list[Case]:
        x = first.get(f"{self.name}/free")
        if x is None or not x.ok:
            return []
        stop = choose_stop(completion(x).content or "")
        if stop is None:
            return []
        return [self.case("stopped", {**self._BODY, "stop": [stop]})]

    def assess(self, steps: Steps) -> Assessment:
        free = must(answer(steps, f"{self.name}/free"))
        if steps.get(f"{self.name}/stopped") is None:
            return Assessment(INCONCLUSIVE, "the free answer was too short to choose a stop string",
                              [excerpt(free)])
        x = must(answer(steps, f"{self.name}/stopped"))
        stops = [s for s in x.request.get("stop") or [] if isinstance(s, str)]
        findings = check_stop(completion(x), stops)
        if findings:
            return Assessment(FAIL, findings[0].message, [excerpt(free), excerpt(x)])
        cut = len(completion(x).content or "") < len(completion(free).content or "")
        return Assessment(PASS, f"stop {stops} honoured" + ("" if cut else " (answer not shorter)"))


class NHonoured(Probe):
    name = "params.n"
    description = "n: 2 returns two choices (or is refused with a 4xx)"
    rows = (18,)

    def cases(self) -> list[Case]:
        return [self.case("two", {"messages": [user("Name a colour.")], "n": 2,
                                  "temperature": 0.8, "max_tokens": 8})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/two"))
        findings = check_n(completion(x), 2)
        if findings:
            return Assessment(FAIL, findings[0].message + " (n silently ignored)", [excerpt(x)])
        return Assessment(PASS, "two choices returned")


class LogprobsHonoured(Probe):
    name = "params.logprobs"
    description = ("logprobs with top_logprobs at temperature 0: present, each chosen token the "
                   "most likely one, the tokens spelling out the content")
    rows = (14, 16, 18)

    def cases(self) -> list[Case]:
        return [self.case("greedy", {"messages": [user("Name three fruits.")], "logprobs": True,
                                     "top_logprobs": 3, "temperature": 0, "max_tokens": 16})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/greedy"))
        findings = check_logprobs(completion(x), greedy=True)
        if findings:
            return Assessment(FAIL, "; ".join(f.message for f in findings),
                              [excerpt(x, findings[0].message, check=findings[0].check)])
        n = len((completion(x).logprobs or {}).get("content") or [])
        return Assessment(PASS, f"{n} token logprobs, greedy and consistent with the content")


class ResponseFormatHonoured(Probe):
    name = "params.response_format"
    description = "response_format json_schema: the content is JSON that validates against the schema"
    rows = (17,)

    def __init__(self, schemas: SchemaCache | None = None) -> None:
        self.schemas = schemas or SchemaCache()

    def cases(self) -> list[Case]:
        fmt = {"type": "json_schema",
               "json_schema": {"name": "city_facts", "schema": CITY_SCHEMA, "strict": True}}
        return [self.case("schema", {"messages": [user("Tell me about Paris.")],
                                     "response_format": fmt, "temperature": 0, "max_tokens": 200})]

    def assess(self, steps: Steps) -> Assessment:
        x = must(answer(steps, f"{self.name}/schema"))
        findings = check_json_output(completion(x), CITY_SCHEMA, self.schemas)
        if findings:
            first = findings[0]
            return Assessment(FAIL, first.message[:300], [excerpt(x, first.message, check=first.check)])
        return Assessment(PASS, "the content validates against the requested schema")


PROBES: tuple[type[Probe], ...] = (StopHonoured, NHonoured, LogprobsHonoured, ResponseFormatHonoured)
