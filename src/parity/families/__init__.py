"""Model families as data: call markers, reasoning delimiters, special tokens, raw-call parsers.

One entry per family (``FAMILIES``), each built and tested from the family's
official chat template. The checks use it to recognise a tool call a server
failed to parse (raw text left in ``content``) and leaked reasoning
delimiters; the gateway uses the same entries to reject or repair such answers.
Pure: no I/O.
"""

from ._family import Family, ParsedCall, Parser
from ._registry import FAMILIES
from ._render import TemplateError, emitted, render
from ._repair import coerce_arguments, coerce_value, split_prose
from ._scan import (
    LONGEST_MARKER,
    MAX_SCAN,
    CallLeak,
    DelimiterLeak,
    ends_in_delimiter_start,
    ends_in_marker_start,
    family,
    find_call_leak,
    find_delimiter_leak,
    marker_at,
    starts_bare,
)
from ._tokens import SPECIAL_TOKEN_RE, SPECIAL_TOKENS

__all__ = [
    "FAMILIES",
    "LONGEST_MARKER",
    "MAX_SCAN",
    "SPECIAL_TOKENS",
    "SPECIAL_TOKEN_RE",
    "CallLeak",
    "DelimiterLeak",
    "Family",
    "ParsedCall",
    "Parser",
    "TemplateError",
    "coerce_arguments",
    "coerce_value",
    "emitted",
    "ends_in_delimiter_start",
    "ends_in_marker_start",
    "family",
    "find_call_leak",
    "find_delimiter_leak",
    "marker_at",
    "render",
    "split_prose",
    "starts_bare",
]
