"""Suites: a dataset, the checks that apply, metrics, and how a candidate is judged."""

from ._base import EvalContext, Role, Sender, Suite, get_suite, register, suite_names

__all__ = ["EvalContext", "Role", "Sender", "Suite", "get_suite", "register", "suite_names"]
