"""The public surface of parity.stats, and its independence from I/O modules."""

from __future__ import annotations

import ast
from pathlib import Path

import parity.stats

EXPECTED = {
    "Alternative",
    "BettingTest",
    "BoundedMeanCS",
    "MMDResult",
    "PairedKernelBettingTest",
    "binom_upper",
    "bootstrap_ci",
    "clustered_mean",
    "e_to_p",
    "fisher_exact",
    "hamming_kernel",
    "hamming_kernel_matrix",
    "hamming_similarity",
    "holm",
    "item_spread",
    "logprob_difference_test",
    "mcnemar_exact",
    "mean_ci",
    "mmd2_unbiased",
    "mmd_permutation_test",
    "newcombe_diff",
    "paired_diff",
    "paired_item_diff",
    "quantile_ci",
    "topk_tv_lower_bound",
    "wilson",
}


def test_public_names() -> None:
    assert set(parity.stats.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(parity.stats, name) is not None


def test_imports_only_pure_parity_modules() -> None:
    allowed = ("parity.verdict", "parity.stats")
    package = Path(parity.stats.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                module = node.module
            elif isinstance(node, ast.Import):
                module = node.names[0].name
            else:
                continue
            if module.startswith("parity"):
                assert module.startswith(allowed), f"{path.name} imports {module}"
