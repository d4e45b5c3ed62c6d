"""Every control token parity knows, in one place: the registered families' own
(``Family.special_tokens``) and, for formats with no entry, the shapes they share.

What a server renders as text instead of stopping or parsing on it; the checks
(``text.special_token``) and anything else that looks for leaked tokens read
this pattern and nothing else.
"""

from __future__ import annotations

import re

from ._registry import FAMILIES

SPECIAL_TOKENS: tuple[str, ...] = tuple(dict.fromkeys(t for f in FAMILIES for t in f.special_tokens))

# Shapes most formats share, and tokens of formats without a registry entry.
SHARED_TOKEN_SHAPES: tuple[str, ...] = (
    r"<\|[A-Za-z0-9_]{2,40}\|>",  # ChatML, Llama 3, Phi, Kimi: <|im_end|>, <|eot_id|>...
    r"<｜[^｜<>]{1,40}｜>",  # DeepSeek's full-width bars
    r"<unk>|<pad>|<end_of_turn>|<start_of_turn>",  # Llama 2, Gemma 2-3
)

SPECIAL_TOKEN_RE = re.compile("|".join([
    *SHARED_TOKEN_SHAPES,
    *(re.escape(t) for t in sorted(SPECIAL_TOKENS, key=len, reverse=True)),
]))
