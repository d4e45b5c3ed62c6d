"""One TLS set-up for every transport: certifi's roots, or an endpoint's own CA bundle."""

from __future__ import annotations

import functools
import os
import ssl

import certifi


def tls_context(*, verify: bool = True, ca_bundle: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """The one TLS set-up for every path: certifi's roots (the same on every machine, as httpx
    uses), or ``ca_bundle``'s (a PEM file: a private CA); ``verify=False`` checks nothing."""
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if ca_bundle is None:
        return _certifi_context()
    cafile = os.fspath(ca_bundle)
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"ca_bundle {cafile!r} cannot be used: {exc}") from None


@functools.cache
def _certifi_context() -> ssl.SSLContext:
    # Loading the roots costs milliseconds; one context serves every connection.
    return ssl.create_default_context(cafile=certifi.where())
