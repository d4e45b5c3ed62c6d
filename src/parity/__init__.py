"""parity: is this endpoint serving the model faithfully, and how sure are we?"""

from parity._version import __version__

__all__ = ["__version__"]
