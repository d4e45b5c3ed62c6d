"""The equality suite: are a candidate's sampled completions distributed as the reference's?"""

from ._cases import LLAMA_CPP_PARAMS, REFERENCE_STREAM, Sampling, choose_prompts, sample_seed
from ._decide import Decision, Design, Look, decide
from ._prompts import PROMPTS
from ._samples import Sample
from .suite import NAME, EqualitySuite

__all__ = [
    "LLAMA_CPP_PARAMS",
    "NAME",
    "PROMPTS",
    "REFERENCE_STREAM",
    "Decision",
    "Design",
    "EqualitySuite",
    "Look",
    "Sample",
    "Sampling",
    "choose_prompts",
    "decide",
    "sample_seed",
]
