"""The conformance suite: targeted probes of the API an endpoint claims to serve."""

from ._probe import Assessment, Probe, Steps
from .suite import BUDGET, NAME, TEST_NAME, ConformanceSuite, default_probes, overall

__all__ = [
    "BUDGET",
    "NAME",
    "TEST_NAME",
    "Assessment",
    "ConformanceSuite",
    "Probe",
    "Steps",
    "default_probes",
    "overall",
]
