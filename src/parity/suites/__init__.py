"""Suites: a dataset, the checks that apply, metrics, and how a candidate is judged."""

from ._base import (
                    EvalContext,
                    Role,
                    Sender,
                    SizedByEndpoint,
                    Suite,
                    get_suite,
                    planned_requests,
                    register,
                    suite_names,
)

__all__ = ["EvalContext", "Role", "Sender", "SizedByEndpoint", "Suite", "get_suite", "planned_requests",
           "register", "suite_names"]
