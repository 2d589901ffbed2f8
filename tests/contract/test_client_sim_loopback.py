"""Contract over real loopback HTTP: the same client and simulator, a real socket between them,
and hand-built requests sent with ``http.client`` (not our client)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.sync import Client
from krakenfutures.core.rest.schema_orders import BatchSend

D = Decimal
XBT = "PF_XBTUSD"
SEND = "/derivatives/api/v3/sendorder"


def _sign(secret: str, path: str, data: bytes, nonce: str) -> str:
    signed = path.removeprefix("/derivatives")
    digest = hashlib.sha256(data + nonce.encode() + signed.encode()).digest()
    return base64.b64encode(
        hmac.new(base64.b64decode(secret), digest, hashlib.sha512).digest()
    ).decode()


def _post(
    handle: Any, path: str, query: bytes, body: bytes, *, nonce: str = "", tamper: bool = False
) -> tuple[int, dict[str, Any]]:
    url = urlsplit(handle.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    headers = {
        "APIKey": handle.api_key,
        "Authent": _sign(handle.api_secret, path, query + body, nonce),
    }
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    if nonce:
        headers["Nonce"] = nonce
    if tamper:
        body = body.replace(b"buy", b"bux")
    target = path + ("?" + query.decode() if query else "")
    conn.request("POST", target, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data, parse_float=Decimal)


def _maker(handle: Any, side: str, qty: str, price: str) -> None:
    ex = handle.exchange
    if "maker" not in ex.account_names():
        ex.open_account("maker", flex={"USD": D(10_000_000)})
    r = ex.send_order(
        "maker",
        symbol=XBT,
        side=side,
        order_type="lmt",
        qty=D(qty),
        limit_price=D(price),
        now_ms=handle.clock.now_ms(),
    )
    assert r.status == "placed"


def test_client_trades_over_loopback(served: Any, loopback: Any) -> None:
    _maker(served, "sell", "1", "60010")
    with Client(**loopback()) as client:
        assert any(i.symbol == XBT for i in client.get_instruments())
        r = client.send_order(
            order_type="mkt", symbol=XBT, side="buy", qty="0.1", cli_ord_id="lb-1"
        )
        assert r.status == "placed" and r.cli_ord_id == "lb-1"
        (fill,) = client.get_fills()
        assert (fill.price, fill.qty, fill.fill_type) == (D(60010), D("0.1"), "taker")
        rows = client.batch_order(instructions=[
            BatchSend(order_tag="a", order_type="lmt", symbol=XBT, side="buy", qty=D("0.01"), limit_price=D(59000)),
            BatchSend(order_tag="b", order_type="post", symbol=XBT, side="buy", qty=D("0.01"), limit_price=D(60010)),
        ])  # fmt: skip
        assert [x.status for x in rows] == ["placed", "postWouldExecute"]
        csv_text = client.history_account_log_csv()
        assert csv_text.startswith("id,date") and "futures trade" in csv_text
        flex = client.get_accounts()["flex"]
        assert flex.currencies["USD"].quantity == D(100000) - D("0.1") * 60010 * D("0.0005")
    assert served.exchange.check_invariants() == []


async def test_async_client_over_loopback(served: Any, loopback: Any) -> None:
    kwargs = loopback()

    async def _asleep(seconds: float) -> None:
        served.clock.sleep(seconds)

    kwargs["sleep"] = _asleep
    async with AsyncClient(**kwargs) as client:
        r = await client.send_order(
            order_type="lmt", symbol=XBT, side="buy", qty="0.01", limit_price="59000"
        )
        assert r.status == "placed"
        (row,) = await client.get_open_orders()
        assert row.order_id == r.order_id
        assert (await client.cancel_all_orders()).status == "cancelled"


def test_hand_built_requests_over_http(served: Any) -> None:
    base = b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=59000"
    status, out = _post(served, SEND, base + b"&cliOrdId=q%20one", b"", nonce="1800000000001")
    assert status == 200 and out["sendStatus"]["status"] == "placed"
    assert out["sendStatus"]["cliOrdId"] == "q one"
    status, out = _post(served, SEND, b"", base + b"&cliOrdId=b+two&reduceOnly=False")
    assert out["sendStatus"]["status"] == "placed" and out["sendStatus"]["cliOrdId"] == "b two"
    doc = json.dumps(
        {
            "batchOrder": [
                {
                    "order": "send",
                    "order_tag": "1",
                    "orderType": "lmt",
                    "symbol": XBT,
                    "side": "buy",
                    "size": 0.01,
                    "limitPrice": 58000,
                }
            ]
        }
    )
    status, out = _post(served, "/derivatives/api/v3/batchorder", b"", b"json=" + doc.encode())
    assert [r["status"] for r in out["batchStatus"]] == ["placed"]
    status, out = _post(
        served, "/derivatives/api/v3/batchorder", b"", b"json=" + quote(doc).encode()
    )
    assert [r["status"] for r in out["batchStatus"]] == ["placed"]
    assert len(served.exchange.open_orders("main")) == 4


def test_refusals_over_http_are_kraken_answers(served: Any) -> None:
    base = b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=59000"
    status, out = _post(served, SEND, b"", base, tamper=True)
    assert (status, out["error"]) == (200, "authenticationError")
    status, out = _post(served, "/derivatives/api/v3/batchorder", b"", b"json=%7Bnope")
    assert (status, out["error"]) == (200, "Json Parse Error")
    status, out = _post(
        served, SEND, b"", b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=1e400&limitPrice=1"
    )
    assert (status, out["sendStatus"]["status"]) == (200, "invalidSize")
    status, out = _post(
        served, SEND, b"", b"orderType=lmt&symbol=NOPE&side=buy&size=1&limitPrice=1"
    )
    assert (status, out["error"]) == (200, "invalidArgument")
    assert served.exchange.open_orders("main") == []
