"""Pure statistics for parity: intervals, exact tests, MMD and sequential tests.

No I/O and no imports from the rest of parity except the :class:`Estimate`
model; every function here is deterministic given its inputs (and seed).
"""

from parity.stats.clustered import clustered_mean, item_spread, paired_item_diff
from parity.stats.confseq import BettingCS, BoundedMeanCS
from parity.stats.divergence import logprob_difference_test, topk_tv_lower_bound
from parity.stats.exchangeable import ExchangeableRankTest, odd_one_out_e, odd_one_out_g
from parity.stats.mmd import MMDResult, hamming_kernel_matrix, mmd2_unbiased, mmd_permutation_test
from parity.stats.proportions import bootstrap_ci, mean_ci, newcombe_diff, paired_diff, wilson
from parity.stats.quantiles import quantile_ci
from parity.stats.sequential import (
    BettingTest,
    PairedKernelBettingTest,
    e_to_p,
    hamming_kernel,
    hamming_similarity,
)
from parity.stats.tests import Alternative, binom_upper, fisher_exact, holm, mcnemar_exact

__all__ = [
    "Alternative",
    "BettingCS",
    "BettingTest",
    "BoundedMeanCS",
    "ExchangeableRankTest",
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
    "odd_one_out_e",
    "odd_one_out_g",
    "paired_diff",
    "paired_item_diff",
    "quantile_ci",
    "topk_tv_lower_bound",
    "wilson",
]
