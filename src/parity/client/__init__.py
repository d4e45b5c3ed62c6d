"""OpenAI-compatible async client: the one transport seam, one retry policy, one way to open a stream."""

from ._client import ChatClient
from ._limits import RateLimiter
from ._parse import InvalidBody, parse_completion
from ._retry import RetryPolicy, parse_retry_after
from ._sse import StreamAssembler, StreamError, iter_sse_data
from ._stream import OpenStream
from ._tls import tls_context
from ._transport import FastTransport, StaleConnection, default_transport

__all__ = [
    "ChatClient",
    "FastTransport",
    "InvalidBody",
    "OpenStream",
    "RateLimiter",
    "RetryPolicy",
    "StaleConnection",
    "StreamAssembler",
    "StreamError",
    "default_transport",
    "iter_sse_data",
    "parse_completion",
    "parse_retry_after",
    "tls_context",
]
