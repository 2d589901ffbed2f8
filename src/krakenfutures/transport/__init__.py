"""Transports: the only code that touches sockets. They move bytes and know nothing of Kraken.

Third-party and OS exceptions are translated here into :mod:`krakenfutures.errors` and chained.
"""

from krakenfutures.transport.base import AsyncTransport, Response, SyncTransport
from krakenfutures.transport.handler import AsyncHandlerTransport, HandlerTransport

__all__ = [
    "AsyncHandlerTransport",
    "AsyncTransport",
    "HandlerTransport",
    "Response",
    "SyncTransport",
]
