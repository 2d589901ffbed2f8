"""Legacy WebSocket v1 (``/ws/v1``), sans-I/O: one vocabulary for the client and the simulator.

* :mod:`~krakenfutures.core.ws.schema`, :mod:`~.schema_public`, :mod:`~.schema_private`:
  frozen msgspec structs for every request, reply and feed message (Decimal money).
* :mod:`~krakenfutures.core.ws.classify`: raw frame -> typed message, never raising.
* :mod:`~krakenfutures.core.ws.session`: :class:`ClientSession` (receive / data_to_send /
  events), used by the client's feed.
* :mod:`~krakenfutures.core.ws.server_session`: :class:`ServerSession`, used by the
  simulator's WebSocket endpoint.
"""

from krakenfutures.core.ws.classify import (
    ControlMessage,
    DataMessage,
    MalformedMessage,
    Message,
    UnknownMessage,
    classify,
    classify_request,
)
from krakenfutures.core.ws.schema import encode
from krakenfutures.core.ws.server_session import (
    FeedStarted,
    FeedStopped,
    Reply,
    ServerAction,
    ServerSession,
)
from krakenfutures.core.ws.session import (
    AuthFailed,
    ClientSession,
    ErrorMessage,
    Event,
    FeedMessage,
    InfoReceived,
    SubKey,
    Subscribed,
    SubscribeFailed,
    UnknownMessageReceived,
    Unsubscribed,
    UnsubscribeFailed,
)

__all__ = [
    "AuthFailed",
    "ClientSession",
    "ControlMessage",
    "DataMessage",
    "ErrorMessage",
    "Event",
    "FeedMessage",
    "FeedStarted",
    "FeedStopped",
    "InfoReceived",
    "MalformedMessage",
    "Message",
    "Reply",
    "ServerAction",
    "ServerSession",
    "SubKey",
    "SubscribeFailed",
    "Subscribed",
    "UnknownMessage",
    "UnknownMessageReceived",
    "UnsubscribeFailed",
    "Unsubscribed",
    "classify",
    "classify_request",
    "encode",
]
