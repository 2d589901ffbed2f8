"""The simulator's REST front door against hand-written requests: every encoding a correct
client may use is accepted, every tampered byte is refused, and malformed input gets Kraken's
error answer without touching state. Requests are built with urllib/bytes literals and signed
by the bench's own hashlib/hmac signer, never by our client."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

V3 = "/derivatives/api/v3"
SEND = f"{V3}/sendorder"
LIMIT = b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=59000"


def js(reply: Any) -> dict[str, Any]:
    assert reply.status < 500, reply.body
    return json.loads(reply.body, parse_float=Decimal)


def error_of(reply: Any) -> str | None:
    return js(reply).get("error")


def open_cli_ids(bench: Any) -> set[str | None]:
    return {o.cli_ord_id for o in bench.exchange.open_orders("alice")}


# ------------------------------------------------------------------- the independent signer


def test_independent_signer_matches_the_reference_vectors(bench: Any) -> None:
    secret = (
        "7zxMEF5p/Z8l2p2U7Ghv6x14Af+Fx+92tPgUdVQ748FOIrEoT9bgT+bTRfXc5pz8na+hL/QdrCVG7bh9KpT0eMTm"
    )
    data = b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=50000&cliOrdId=my-id-1"
    assert bench.authent(secret, SEND, data, "1700000000000") == (
        "cHBrkyCNUjWUmNdDMSJ9r4VXSYl9rx+AQMe7hIF9K7eYbrSTTIcwf94PIeGcaMhOtw+sFE6dtvHqebMATPOp4A=="
    )
    assert bench.authent(secret, SEND, data, "") == (
        "hK/MIMeWLQmMAG32kHDf2wHZGXX6TIhh1UhPSPjyKgdgsSG5F02WeeirwfuLWsbzCtnx03gsXaNZFBaOpA97Vg=="
    )


# -------------------------------------------------------------------- accepted encodings


def test_params_in_body(bench: Any) -> None:
    out = js(bench.raw("POST", SEND, body=LIMIT + b"&cliOrdId=body"))
    assert out["sendStatus"]["status"] == "placed"
    assert open_cli_ids(bench) == {"body"}


def test_params_in_query_of_a_post(bench: Any) -> None:
    out = js(bench.raw("POST", SEND, query=LIMIT + b"&cliOrdId=query"))
    assert out["sendStatus"]["status"] == "placed"


def test_params_split_between_query_and_body(bench: Any) -> None:
    # CF-PY style: postData = query + body, no separator
    out = js(
        bench.raw(
            "POST",
            SEND,
            query=b"orderType=lmt&symbol=PF_XBTUSD",
            body=b"side=buy&size=0.01&limitPrice=59000&cliOrdId=split",
        )
    )
    assert out["sendStatus"]["status"] == "placed"
    assert open_cli_ids(bench) == {"split"}


def test_body_only_signature_with_query_present(bench: Any) -> None:
    # Go SDK style: only the body is signed even when a query string exists
    query, body = b"symbol=PF_XBTUSD", b"orderType=lmt&side=buy&size=0.01&limitPrice=59000"
    sig = bench.authent(bench.secret, SEND, body, "1700000000999")
    reply = bench.raw("POST", SEND, query, body, nonce="1700000000999", authent=sig)
    assert js(reply)["sendStatus"]["status"] == "placed"


@pytest.mark.parametrize("encoded", [b"my+id+1", b"my%20id%201"])
def test_spaces_as_plus_or_percent20(bench: Any, encoded: bytes) -> None:
    out = js(bench.raw("POST", SEND, body=LIMIT + b"&cliOrdId=" + encoded))
    assert out["sendStatus"]["status"] == "placed"
    assert out["sendStatus"]["cliOrdId"] == "my id 1"


def test_batchorder_json_raw_and_percent_encoded(bench: Any) -> None:
    doc = {
        "batchOrder": [
            {"order": "send", "order_tag": "1", "orderType": "lmt", "symbol": "PF_XBTUSD",
             "side": "buy", "size": 0.01, "limitPrice": 59000, "cliOrdId": "raw-1"},
        ]
    }  # fmt: skip
    text = json.dumps(doc, separators=(",", ":"))
    raw = js(bench.raw("POST", f"{V3}/batchorder", body=b"json=" + text.encode()))
    assert [r["status"] for r in raw["batchStatus"]] == ["placed"]
    doc["batchOrder"][0]["cliOrdId"] = "enc-1"
    text = json.dumps(doc, separators=(",", ":"))
    enc = js(bench.raw("POST", f"{V3}/batchorder", body=b"json=" + quote(text, safe="").encode()))
    assert [r["status"] for r in enc["batchStatus"]] == ["placed"]
    assert open_cli_ids(bench) == {"raw-1", "enc-1"}


@pytest.mark.parametrize("flag", [b"true", b"True"])
def test_booleans_true_or_capital_true(bench: Any, flag: bytes) -> None:
    # flat account: a reduce-only order is refused, which proves the flag was read as true
    out = js(bench.raw("POST", SEND, body=LIMIT + b"&reduceOnly=" + flag))
    assert out["sendStatus"]["status"] == "wouldNotReducePosition"


def test_any_param_order(bench: Any) -> None:
    body = b"limitPrice=59000&size=0.01&cliOrdId=shuffled&side=buy&symbol=PF_XBTUSD&orderType=lmt"
    assert js(bench.raw("POST", SEND, body=body))["sendStatus"]["status"] == "placed"


def test_no_nonce_header(bench: Any) -> None:
    out = js(bench.raw("POST", SEND, body=LIMIT, nonce=None))
    assert out["sendStatus"]["status"] == "placed"
    again = js(bench.raw("POST", SEND, body=LIMIT, nonce=None))  # no nonce, no replay check
    assert again["sendStatus"]["status"] == "placed"


def test_history_path_is_signed_whole(bench: Any) -> None:
    reply = bench.raw("GET", "/api/history/v3/account-log", query=b"count=5&sort=asc")
    assert reply.status == 200 and "logs" in js(reply)


# ------------------------------------------------------------------------ refused bytes


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_flipped_byte_in_body(bench: Any) -> None:
    sig = bench.authent(bench.secret, SEND, LIMIT, "1")
    for i in (0, 10, len(LIMIT) - 1):
        reply = bench.raw("POST", SEND, body=_flip(LIMIT, i), nonce="", authent=sig)
        assert error_of(reply) == "authenticationError"
    assert bench.exchange.open_orders("alice") == []


def test_flipped_byte_in_query(bench: Any) -> None:
    query = b"lastFillTime=2026-01-01T00%3A00%3A00.000Z"
    sig = bench.authent(bench.secret, f"{V3}/fills", query, "")
    assert js(bench.raw("GET", f"{V3}/fills", query, nonce="", authent=sig))["result"] == "success"
    reply = bench.raw("GET", f"{V3}/fills", _flip(query, 15), nonce="", authent=sig)
    assert error_of(reply) == "authenticationError"


def test_flipped_byte_in_signed_path(bench: Any) -> None:
    for signed in ("/api/v3/sendordes", "/derivatives/api/v3/sendorder", "/api/v3/sendorde"):
        sig = bench.authent(bench.secret, signed, LIMIT, "", strip=False)
        assert (
            error_of(bench.raw("POST", SEND, body=LIMIT, nonce="", authent=sig))
            == "authenticationError"
        )
    # a routable path whose placeholder differs from the one signed
    path = f"{V3}/subaccount/abc/trading-enabled"
    sig = bench.authent(bench.secret, path, b"", "")
    reply = bench.raw("GET", f"{V3}/subaccount/abd/trading-enabled", nonce="", authent=sig)
    assert error_of(reply) == "authenticationError"


def test_flipped_nonce(bench: Any) -> None:
    sig = bench.authent(bench.secret, SEND, LIMIT, "1700000000123")
    reply = bench.raw("POST", SEND, body=LIMIT, nonce="1700000000124", authent=sig)
    assert error_of(reply) == "authenticationError"
    # a nonce that was signed but not sent (or the reverse) is refused too
    assert (
        error_of(bench.raw("POST", SEND, body=LIMIT, nonce="", authent=sig))
        == "authenticationError"
    )


def test_flipped_authent_character(bench: Any) -> None:
    sig = bench.authent(bench.secret, SEND, LIMIT, "")
    for i in (0, 20, len(sig) - 3):
        bad = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
        assert (
            error_of(bench.raw("POST", SEND, body=LIMIT, nonce="", authent=bad))
            == "authenticationError"
        )


@pytest.mark.parametrize(
    "headers",
    [{"APIKey": "unknown"}, {"Authent": "not base64 at all"}, {"APIKey": ""}],
)
def test_bad_auth_headers(bench: Any, headers: dict[str, str]) -> None:
    assert error_of(bench.raw("POST", SEND, body=LIMIT, headers=headers)) == "authenticationError"


def test_missing_auth_headers(bench: Any) -> None:
    assert error_of(bench.raw("POST", SEND, body=LIMIT, key=None)) == "authenticationError"
    reply = bench.raw("GET", "/api/history/v3/executions", key=None)
    assert reply.status == 401 and js(reply)["status"] == "unauthorized"


def test_read_only_key(bench: Any) -> None:
    assert error_of(bench.raw("POST", SEND, body=LIMIT, key="read-a")) == "authenticationError"
    assert js(bench.raw("GET", f"{V3}/accounts", key="read-a"))["result"] == "success"


def test_withdrawal_needs_withdrawal_permission(bench: Any) -> None:
    body = b"currency=usd&amount=10&sourceWallet=flex"
    assert error_of(bench.raw("POST", f"{V3}/withdrawal", body=body)) == "authenticationError"
    out = js(bench.raw("POST", f"{V3}/withdrawal", body=body, key="wd-a"))
    assert out["result"] == "success" and len(out["uid"]) == 36


def test_nonce_replay_and_below_threshold(bench: Any) -> None:
    assert js(bench.raw("GET", f"{V3}/openorders", nonce="1800000000000"))["result"] == "success"
    assert error_of(bench.raw("GET", f"{V3}/openorders", nonce="1800000000000")) == "nonceDuplicate"
    bench.now += 5_000  # the first nonce ages out of the tolerance window
    assert js(bench.raw("GET", f"{V3}/openorders", nonce="1800000000005"))["result"] == "success"
    assert (
        error_of(bench.raw("GET", f"{V3}/openorders", nonce="1799999999999"))
        == "nonceBelowThreshold"
    )
    assert error_of(bench.raw("GET", f"{V3}/openorders", nonce="12x")) == "authenticationError"


def test_api_limit_exceeded_when_the_budget_is_spent(bench: Any) -> None:
    for _ in range(20):  # cancelallorders costs 25 of 500 per 10 s
        assert js(bench.raw("POST", f"{V3}/cancelallorders"))["result"] == "success"
    assert error_of(bench.raw("POST", f"{V3}/cancelallorders")) == "apiLimitExceeded"
    assert error_of(bench.raw("GET", f"{V3}/accounts")) == "apiLimitExceeded"
    assert js(bench.raw("GET", f"{V3}/tickers", key=None))["result"] == "success"  # public: free
    assert js(bench.raw("GET", f"{V3}/accounts", key="full-b"))["result"] == "success"  # per key
    bench.now += 10_000
    assert js(bench.raw("GET", f"{V3}/accounts"))["result"] == "success"


# ---------------------------------------------------------------------- malformed input

MALFORMED: list[tuple[str, str, bytes, str]] = [
    ("POST", "batchorder", b"json={not json", "Json Parse Error"),
    ("POST", "batchorder", b'json={"orders":[]}', "Json Parse Error"),
    ("POST", "batchorder", b"json=%5B1%2C2%5D", "Json Parse Error"),
    ("POST", "batchorder", b'json={"batchOrder":[{"order":"jump"}]}', "invalidArgument"),
    ("POST", "batchorder", b'json={"batchOrder":[{"order":"send","order_tag":"1","orderType":"lmt","symbol":"PF_NOPE","side":"buy","size":1,"limitPrice":1}]}', "invalidArgument"),
    ("POST", "batchorder", b'json={"batchOrder":[{"order":"cancel"}]}', "requiredArgumentMissing"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=abc&limitPrice=1", "invalidArgument"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_XBTUSD&side=up&size=1&limitPrice=1", "invalidArgument"),
    ("POST", "sendorder", b"orderType=limit&symbol=PF_XBTUSD&side=buy&size=1&limitPrice=1", "invalidArgument"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_NOPE&side=buy&size=1&limitPrice=1", "invalidArgument"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_XBTUSD&size=1&limitPrice=1", "requiredArgumentMissing"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=1", "requiredArgumentMissing"),
    ("POST", "sendorder", b"orderType=stp&symbol=PF_XBTUSD&side=buy&size=1", "requiredArgumentMissing"),
    ("POST", "sendorder", b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=1&limitPrice=1&processBefore=yesterday", "invalidArgument"),
    ("POST", "sendorder", b"\xff\xfe", "invalidArgument"),
    ("POST", "editorder", b"size=1", "requiredArgumentMissing"),
    ("POST", "cancelorder", b"", "requiredArgumentMissing"),
    ("POST", "cancelallorders", b"symbol=PF_NOPE", "invalidArgument"),
    ("POST", "cancelallordersafter", b"timeout=abc", "invalidArgument"),
    ("POST", "cancelallordersafter", b"timeout=-1", "invalidArgument"),
    ("POST", "cancelallordersafter", b"timeout=1e400", "invalidArgument"),
    ("POST", "cancelallordersafter", b"timeout=99999999999999999999", "invalidArgument"),
    ("POST", "transfer", b"fromAccount=flex&toAccount=cash&unit=usd&amount=NaN", "invalidAmount"),
    ("POST", "transfer", b"fromAccount=flex&toAccount=cash&unit=usd&amount=1e400", "invalidAmount"),
    ("POST", "transfer", b"fromAccount=flex&toAccount=moon&unit=usd&amount=1", "invalidAccount"),
    ("POST", "transfer", b"fromAccount=flex&toAccount=cash&unit=usd&amount=1000000", "insufficientFunds"),
    ("POST", "transfer", b"fromAccount=flex&toAccount=cash&unit=usd", "requiredArgumentMissing"),
    ("POST", "orders/status", b"orderIds=nope", ""),
    ("PUT", "leveragepreferences", b"symbol=PF_NOPE&maxLeverage=5", "contractNotFound"),
    ("PUT", "leveragepreferences", b"symbol=PF_XBTUSD&maxLeverage=500", "invalidArgument"),
    ("PUT", "leveragepreferences", b"symbol=PF_XBTUSD&maxLeverage=NaN", "invalidArgument"),
    ("PUT", "pnlpreferences", b"symbol=PF_XBTUSD&pnlPreference=DOGE", "invalidArgument"),
    ("PUT", "pnlpreferences", b"symbol=PI_XBTUSD&pnlPreference=USD", "invalidArgument"),
    ("PUT", "self-trade-strategy", b"strategy=NOPE", "invalidArgument"),
    ("POST", "transfer/subaccount", b"fromUser=a&toUser=b&fromAccount=flex&toAccount=flex&unit=usd&amount=1", "invalidAccount"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "name", "body", "code"), MALFORMED)
def test_malformed_input_gets_an_error_and_changes_nothing(
    bench: Any, method: str, name: str, body: bytes, code: str
) -> None:
    bench.send(
        orderType="lmt",
        symbol="PF_XBTUSD",
        side="buy",
        size="0.01",
        limitPrice="59000",
        cliOrdId="keep",
    )
    before = bench.exchange.snapshot()
    extras = bench.extras.snapshot()
    out = js(bench.raw(method, f"{V3}/{name}", body=body))
    if code:
        assert out == {"result": "error", "serverTime": out["serverTime"], "error": code}
    else:
        assert out["result"] == "success"
    assert bench.exchange.snapshot() == before
    assert bench.extras.snapshot() == extras
    assert bench.exchange.check_invariants() == []


ORDER_STATUS_SCREENS = [
    (b"size=1e400&limitPrice=59000", "invalidSize"),
    (b"size=NaN&limitPrice=59000", "invalidSize"),
    (b"size=-1&limitPrice=59000", "invalidSize"),
    (b"size=0.00001&limitPrice=59000", "invalidSize"),
    (b"size=0.01&limitPrice=1e400", "invalidPrice"),
    (b"size=0.01&limitPrice=Infinity", "invalidPrice"),
    (b"size=0.01&limitPrice=59000.5", "invalidPrice"),
    (b"size=0.01&limitPrice=0", "invalidPrice"),
]


@pytest.mark.parametrize(("numbers", "status"), ORDER_STATUS_SCREENS)
def test_absurd_numbers_are_order_statuses(bench: Any, numbers: bytes, status: str) -> None:
    before = bench.exchange.snapshot()
    body = b"orderType=lmt&symbol=PF_XBTUSD&side=buy&" + numbers
    out = js(bench.raw("POST", SEND, body=body))
    assert out["result"] == "success" and out["sendStatus"]["status"] == status
    assert "order_id" not in out["sendStatus"]
    assert bench.exchange.snapshot() == before


@pytest.mark.parametrize(
    ("path", "query", "code", "http"),
    [
        (f"{V3}/orderbook", b"symbol=PF_NOPE", "contractNotFound", 200),
        (f"{V3}/orderbook", b"", "requiredArgumentMissing", 200),
        (f"{V3}/tickers/PF_NOPE", b"", "contractNotFound", 200),
        (f"{V3}/history", b"symbol=PF_XBTUSD&lastTime=garbage", "invalidArgument", 200),
        (f"{V3}/historical-funding-rates", b"symbol=PF_NOPE", "invalidArgument", 400),
        (
            "/derivatives/api/v4/historicalfundingrates",
            b"symbol=FF_NOPE_260626",
            "invalidArgument",
            400,
        ),
        ("/api/charts/v1/bogus", b"", "notFound", 404),
        ("/api/charts/v1/trade/PF_NOPE", b"", "notFound", 404),
        ("/api/charts/v1/trade/PF_XBTUSD/2m", b"", "notFound", 404),
        ("/api/charts/v1/trade/PF_XBTUSD/1m", b"count=0", "invalidArgument", 400),
        ("/api/charts/v1/trade/PF_XBTUSD/1m", b"from=abc", "invalidArgument", 200),
        ("/api/history/v3/market/PF_NOPE/executions", b"", "notFound", 404),
        (f"{V3}/nothing-here", b"", "notFound", 404),
    ],
)
def test_public_reads_refuse_bad_input(
    bench: Any, path: str, query: bytes, code: str, http: int
) -> None:
    reply = bench.raw("GET", path, query, key=None)
    assert reply.status == http
    assert js(reply)["error"] == code


def test_history_refuses_a_bad_continuation_token(bench: Any) -> None:
    reply = bench.raw("GET", "/api/history/v3/executions", b"continuation_token=%%%")
    assert reply.status == 400 and js(reply)["error"] == "invalidArgument"
