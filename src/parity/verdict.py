"""Estimates and verdicts: every number shown carries its interval and its count."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from parity.evidence import EvidenceList


class EstimateKind(enum.StrEnum):
    """What an estimate is: decides how it is shown (a proportion in %) and where (a difference
    is an effect, drawn in the forest plot)."""

    PROPORTION = "proportion"  # k of n, in [0, 1]
    DIFFERENCE = "difference"  # candidate minus reference (of proportions or means)
    RATE = "rate"  # a mean per observation (a similarity, a distance per prompt)
    COUNT = "count"  # how many (requests spent)
    STATISTIC = "statistic"  # a test statistic or a p-value


class Estimate(BaseModel):
    """A point estimate with a confidence interval and the count it rests on."""

    model_config = ConfigDict(frozen=True)

    value: float | None = Field(description="Point estimate; None when n is 0.")
    kind: EstimateKind | None = Field(
        default=None, description="What the estimate is; None only in verdicts stored before kinds.")
    low: float | None = None
    high: float | None = None
    n: int = Field(description="How many observations the estimate rests on.")
    k: int | None = Field(default=None, description="Successes, for a proportion.")
    method: str = Field(default="wilson", description="How the interval was computed.")
    level: float = 0.95

    def fmt(self, digits: int = 3, percent: bool = False) -> str:
        if self.value is None:
            return f"n/a (n={self.n})"
        scale, unit = (100.0, "%") if percent else (1.0, "")
        d = max(digits - 2, 0) if percent else digits
        v = f"{self.value * scale:.{d}f}{unit}"
        if self.low is None or self.high is None:
            return f"{v} (n={self.n})"
        return f"{v} [{self.low * scale:.{d}f}, {self.high * scale:.{d}f}] (n={self.n})"


class Outcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    REFERENCE = "reference"  # the reference's own row: metrics, no judgement
    # The run could not judge: the endpoint (or the reference) was unreachable or
    # failing beyond a threshold. Never "inconclusive", which means "more cases needed".
    ERROR = "error"


class TestResult(BaseModel):
    """One hypothesis test inside a verdict, before and after multiplicity correction."""

    name: str
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    e_value: float | None = None
    rejected: bool = False
    detail: dict[str, Any] = Field(default_factory=dict)


class ProbeOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNSUPPORTED = "unsupported"
    NOT_APPLICABLE = "not_applicable"  # the reference itself fails or cannot exercise the probe
    INCONCLUSIVE = "inconclusive"


class ProbeResult(BaseModel):
    """One named, targeted experiment inside a verdict (conformance probes)."""

    name: str = Field(description="Stable dotted name, e.g. 'finish_reason.max_tokens_length'.")
    description: str = Field(description="One line: what the probe checks.")
    outcome: ProbeOutcome
    requests: int = 0
    reason: str = ""
    evidence: EvidenceList = Field(default_factory=list, description="Redacted excerpts of its exchanges.")


class Verdict(BaseModel):
    """Per endpoint and suite: pass / fail / inconclusive against the reference."""

    schema_version: int = Field(
        default=3, description="The version the verdict was written with. 3: evidence is typed (older "
                               "excerpts are converted on reading); 2: estimates carry their kind.")
    endpoint: str
    suite: str
    verdict: Outcome
    test: str = Field(description="The decision procedure, e.g. 'Holm(McNemar exact, Fisher exact)'.")
    p_value: float | None = Field(default=None, description="Smallest Holm-adjusted p-value.")
    e_value: float | None = None
    alpha: float
    requests: int = Field(description="Requests this verdict cost on the candidate endpoint.")
    reference_requests: int = 0
    metrics: dict[str, Estimate] = Field(default_factory=dict)
    tests: list[TestResult] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list, description="Why, in sentences.")
    failing_checks: list[str] = Field(default_factory=list)
    evidence: EvidenceList = Field(
        default_factory=list, description="Redacted excerpts of the Exchanges (or items) behind the verdict."
    )
    probes: list[ProbeResult] = Field(default_factory=list, description="Per-probe outcomes, if any.")
