"""OpenAI-compatible async client: the one transport seam, one retry policy."""

from ._client import ChatClient
from ._limits import RateLimiter
from ._parse import InvalidBody, parse_completion
from ._retry import RetryPolicy, parse_retry_after
from ._sse import StreamAssembler, StreamError, iter_sse_data

__all__ = [
    "ChatClient",
    "InvalidBody",
    "RateLimiter",
    "RetryPolicy",
    "StreamAssembler",
    "StreamError",
    "iter_sse_data",
    "parse_completion",
    "parse_retry_after",
]
