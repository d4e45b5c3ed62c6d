"""Pure checks over Exchanges: no I/O, shared by the verifier and the gateway."""

from ._arguments import canonical_arguments, k2vv_load_arguments, load_arguments, parse_arguments
from ._finding import Finding
from ._schema import DRAFTS, LOCAL_REGISTRY, InvalidSchema, SchemaCache
from .reasoning import DELIMITER_LEAK, check_reasoning_delimiters
from .toolcall import (
    ERROR_CLASSES,
    FINISH_MISMATCH,
    INVALID_JSON,
    MARKUP_IN_CONTENT,
    SCHEMA_MISMATCH,
    UNKNOWN_NAME,
    check_call,
    check_finish_reason,
    check_markup,
    check_tool_calls,
    markup_finding,
    tool_index,
)

__all__ = [
    "DELIMITER_LEAK",
    "DRAFTS",
    "ERROR_CLASSES",
    "FINISH_MISMATCH",
    "INVALID_JSON",
    "LOCAL_REGISTRY",
    "MARKUP_IN_CONTENT",
    "SCHEMA_MISMATCH",
    "UNKNOWN_NAME",
    "Finding",
    "InvalidSchema",
    "SchemaCache",
    "canonical_arguments",
    "check_call",
    "check_finish_reason",
    "check_markup",
    "check_reasoning_delimiters",
    "check_tool_calls",
    "k2vv_load_arguments",
    "load_arguments",
    "markup_finding",
    "parse_arguments",
    "tool_index",
]
