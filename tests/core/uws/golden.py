"""Golden uws data shared by the tests: the published checksum vector as a book, and frames in
the shapes the reference documents (verbatim where it quotes them)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

# reference §4.11: Kraken's worked example, the 281-char string and its CRC32
CHECKSUM_VECTOR = (
    "45285210000045286415457195345286615457110945289615456091145290215890660452918154553491"
    "452947445474945296135380000452975994554245299518772827452835100000004528341545820154528"
    "211000000045281010000000452803154592586452790799000045277633101034527753000000045277315"
    "460273745276615445238"
)
CHECKSUM_VECTOR_CRC = 3310070434

# The book the vector was built from (Kraken's book-checksum example), as wire texts: the
# vector splits exactly into these levels (asks low to high, then bids high to low).
VECTOR_ASKS = [
    ("45285.2", "0.00100000"),
    ("45286.4", "1.54571953"),
    ("45286.6", "1.54571109"),
    ("45289.6", "1.54560911"),
    ("45290.2", "0.15890660"),
    ("45291.8", "1.54553491"),
    ("45294.7", "0.04454749"),
    ("45296.1", "0.35380000"),
    ("45297.5", "0.09945542"),
    ("45299.5", "0.18772827"),
]
VECTOR_BIDS = [
    ("45283.5", "0.10000000"),
    ("45283.4", "1.54582015"),
    ("45282.1", "0.10000000"),
    ("45281.0", "0.10000000"),
    ("45280.3", "1.54592586"),
    ("45279.0", "0.07990000"),
    ("45277.6", "0.03310103"),
    ("45277.5", "0.30000000"),
    ("45277.3", "1.54602737"),
    ("45276.6", "0.15445238"),
]


def levels_json(levels: list[tuple[str, str]]) -> str:
    """Levels as JSON objects with the texts as JSON *numbers* (as Kraken sends them)."""
    return "[" + ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels) + "]"


def book_frame(
    kind: str,
    symbol: str,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    checksum: int | None,
    timestamp: str | None = None,
) -> bytes:
    """A ``book`` frame in Kraken's field order, numbers unquoted."""
    extra = "" if checksum is None else f',"checksum":{checksum}'
    if timestamp is not None:
        extra += f',"timestamp":"{timestamp}"'
    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}",'
        f'"bids":{levels_json(bids)},"asks":{levels_json(asks)}{extra}}}]}}'
    ).encode()


def vector_snapshot(symbol: str = "PF_XBTUSD") -> bytes:
    """The vector book as a snapshot frame carrying the published checksum."""
    return book_frame("snapshot", symbol, VECTOR_BIDS, VECTOR_ASKS, CHECKSUM_VECTOR_CRC)


# reference §3.2 (verbatim)
CANCEL_ALL_RESPONSE = (
    '{"method":"cancel_all","req_id":1234567890,"result":{"count":1},"success":true,'
    '"time_in":"2023-09-26T13:09:48.463201Z","time_out":"2023-09-26T13:09:48.471419Z"}'
)
# reference §4.2 (verbatim)
AMEND_RESPONSE = (
    '{"method":"amend_order","result":{"amend_id":"","cl_ord_id":'
    '"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9"},"success":true,'
    '"time_in":"2024-07-26T13:39:04.922699Z","time_out":"2024-07-26T13:39:04.924912Z"}'
)
AMEND_REQUEST_CL_ORD_ID = (
    '{"method":"amend_order","params":{"asset_class":"derivatives","cl_ord_id":'
    '"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9","limit_price":490795,"order_qty":1.2,'
    '"token":"TOKEN"}}'
)
AMEND_REQUEST_ORDER_ID = (
    '{"method":"amend_order","params":{"asset_class":"derivatives","order_id":'
    '"e66851e7-8721-50ed-bf43-5e6a2ddff423","limit_price":61031.3,'
    '"deadline":"2024-07-21T09:53:59.050Z","post_only":true,"token":"TOKEN"}}'
)
CANCEL_ALL_REQUEST = (
    '{"method":"cancel_all","params":{"asset_class":"derivatives","token":"TOKEN"},"req_id":7}'
)
# reference §4.8: the documented batch_cancel example
BATCH_CANCEL_IDS = [
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
]
# reference §3.5 (verbatim Spot v2 status; connection_id > 2**63)
STATUS_FRAME = (
    '{"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,'
    '"system":"online","version":"2.0.0"}],"type":"update"}'
)
PING_REQUEST = '{"method":"ping","req_id":101}'
HEARTBEAT_FRAME = '{"channel":"heartbeat"}'


def frame(obj: dict[str, Any]) -> bytes:
    """A dict as a frame."""
    return json.dumps(obj).encode()


def dec(text: str) -> Decimal:
    """Shorthand."""
    return Decimal(text)
