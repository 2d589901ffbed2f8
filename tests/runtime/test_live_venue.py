"""LiveVenue against the real simulator: intents to the wire, replies to domain records, and the
venue error contract (what a lost reply, a 5xx, ``Unavailable`` or a refused connection raise)
driven through the OrderTracker until exactly one order exists. In memory via
``exchange_pair(async_client=True)`` and over loopback HTTP via ``running_simulator``."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.core.retry import RetryPolicy
from krakenfutures.core.types import OrderType, Side
from krakenfutures.errors import (
    ConnectError,
    TimeoutError_,
    TransportError,
    UnavailableError,
    ValidationError,
)
from krakenfutures.oms.tracker import CliOrdIdGenerator, OrderTracker
from krakenfutures.oms.venue import CancelOutcome, Venue
from krakenfutures.runtime.live_venue import (
    LiveVenue,
    build_send_order,
    parse_funding_entry,
    parse_send_status,
    settlement_currency,
)
from krakenfutures.testing import exchange_pair, running_simulator, sim_config
from krakenfutures.transport.base import Response
from krakenfutures.transport.handler import AsyncHandlerTransport

XBT, ETH = "PF_XBTUSD", "PF_ETHUSD"
TAKER = D("0.0005")  # entry tier of the default schedule (30-day volume 0)


class _Fixed(random.Random):
    """An RNG whose jitter draw is always 0.9: retries wait a known time."""

    def random(self) -> float:
        return 0.9


def make(**client_kwargs: Any) -> tuple[LiveVenue, Any]:
    """(venue, handle): an in-memory pair without pacing; client kwargs override."""
    kwargs: dict[str, Any] = {"rate_limit": False, **client_kwargs}
    client, handle = exchange_pair(sim_config(rate_limits=False), async_client=True, **kwargs)
    handle.exchange.open_account("maker", flex={"USD": D(10_000_000)})
    return LiveVenue(client), handle


def maker(handle: Any, side: str, qty: str, price: str | int, symbol: str = XBT) -> Any:
    """A resting counterparty order, placed straight into the engine (on its own thread)."""

    def place() -> Any:
        return handle.exchange.send_order(
            "maker",
            symbol=symbol,
            side=side,
            order_type="lmt",
            qty=D(qty),
            limit_price=D(price),
            now_ms=handle.clock.now_ms(),
        )

    result = handle._run(place)
    assert result.status == "placed", result
    return result


def exchange_orders(handle: Any) -> list[Any]:
    """The main account's resting orders as the engine holds them."""
    return list(handle._run(lambda: handle.exchange.open_orders("main")))


def lmt(qty: str = "0.01", price: int = 59000, side: Side = Side.BUY, **kw: Any) -> OrderIntent:
    return OrderIntent(XBT, side, D(qty), limit_price=D(price), **kw)


async def reconcile(tracker: OrderTracker, venue: Venue, now_ms: int) -> None:
    """One reconciliation round as the OMS runs it: open orders, statuses, fills."""
    need = tracker.reconcile_needed(now_ms)
    assert need is not None
    open_orders = await venue.open_orders()
    statuses = await venue.order_status(need.cli_ord_ids)
    fills = await venue.fills(since_ms=need.fills_since_ms)
    tracker.reconcile(open_orders=open_orders, statuses=statuses, fills=fills, now_ms=now_ms)


@pytest.fixture
def venue_pair() -> Iterator[tuple[LiveVenue, Any]]:
    venue, handle = make()
    yield venue, handle


# ------------------------------------------------------------------------------ submit


async def test_a_resting_order_is_accepted_and_found_again(venue_pair: Any) -> None:
    venue, handle = venue_pair
    deadline = handle.clock.now_ms() + 5_000
    result = await venue.submit_order(lmt(cli_ord_id="rest-1", process_before_ms=deadline))
    assert (result.accepted, result.status, result.cli_ord_id) == (True, "placed", "rest-1")
    assert result.order_id and result.fills == () and not result.remainder_cancelled
    [snap] = await venue.open_orders()
    assert (snap.order_id, snap.cli_ord_id, snap.state) == (result.order_id, "rest-1", "open")
    assert (snap.qty, snap.filled_qty, snap.limit_price, snap.side) == (
        D("0.01"),
        0,
        D(59000),
        Side.BUY,
    )
    [status] = await venue.order_status(["rest-1"])
    assert (status.order_id, status.state, status.qty) == (
        result.order_id,
        OrderState.OPEN,
        D("0.01"),
    )
    assert await venue.order_status([]) == []


def test_live_venue_implements_every_venue_method() -> None:
    import inspect

    wanted = {n for n, v in vars(Venue).items() if inspect.iscoroutinefunction(v)}
    assert wanted >= {"submit_order", "open_orders", "arm_deadman"}
    for name in wanted:
        method = getattr(LiveVenue, name)
        assert inspect.iscoroutinefunction(method), name
        required = list(inspect.signature(getattr(Venue, name)).parameters)
        assert list(inspect.signature(method).parameters)[: len(required)] == required, name


def test_intents_map_to_kraken_parameters() -> None:
    intent = lmt(
        post_only=True, reduce_only=True, cli_ord_id="x", process_before_ms=1_767_225_605_000
    )
    wire = build_send_order(intent)
    assert wire["order_type"] is OrderType.POST and wire["reduce_only"] is True
    assert wire["process_before"] == "2026-01-01T00:00:05.000Z"
    assert wire["cli_ord_id"] == "x" and wire["trigger_signal"] is None
    stop = OrderIntent(XBT, Side.SELL, D(1), order_type=OrderType.STP, stop_price=D(50000))
    assert build_send_order(stop)["trigger_signal"] == "mark"
    plain = build_send_order(lmt())
    assert plain["reduce_only"] is None and plain["process_before"] is None
    with pytest.raises(ValidationError, match="trailing"):
        build_send_order(OrderIntent(XBT, Side.SELL, D(1), order_type=OrderType.TRAILING_STOP))


def _golden_send(events: str, status: str = "placed") -> Any:
    import msgspec

    from krakenfutures.core.rest.schema_orders import SendStatus

    order = (
        '{"orderId":"o-1","cliOrdId":"g-1","type":"TYPE","symbol":"PI_XBTUSD","side":"buy",'
        '"quantity":10,"filled":0,"limitPrice":7500.0,"reduceOnly":false,'
        '"timestamp":"2019-12-11T17:17:33.888Z","lastUpdateTimestamp":"2019-12-11T17:17:33.888Z"}'
    )
    text = (
        f'{{"order_id":"o-1","status":"{status}","receivedTime":"2019-12-11T17:17:33.888Z",'
        f'"cliOrdId":"g-1","orderEvents":[{events.replace("ORDER", order)}]}}'
    )
    return msgspec.json.decode(text, type=SendStatus)


def test_golden_send_replies() -> None:
    intent = OrderIntent("PI_XBTUSD", Side.BUY, D(10), limit_price=D(7500), cli_ord_id="g-1")
    venue = LiveVenue(None)  # type: ignore[arg-type]  # parsing needs no client
    # Kraken's documented execution shape: amount/price/executionId.
    execution = (
        '{"type":"EXECUTION","executionId":"e-1","price":7244.5,"amount":10,'
        '"orderPriorEdit":null,"orderPriorExecution":ORDER,"takerReducedQuantity":null}'
    )
    done = parse_send_status(
        _golden_send(execution.replace("TYPE", "ioc")), intent, fee=venue.fee_for
    )
    assert done.accepted and not done.remainder_cancelled
    [fill] = done.fills
    assert (fill.fill_id, fill.order_id, fill.qty, fill.price, fill.fee_currency) == (
        "e-1",
        "o-1",
        D(10),
        D("7244.5"),
        "XBT",
    )
    assert fill.fee == D(10) * TAKER / D("7244.5") and fill.ts_ms == 1576084653888
    # "placed" with a REJECT event and nothing executed: a refusal.
    reject = '{"type":"REJECT","uid":"o-1","order":ORDER,"reason":"POST_WOULD_EXECUTE"}'
    refused = parse_send_status(
        _golden_send(reject.replace("TYPE", "post")), intent, fee=venue.fee_for
    )
    assert (refused.accepted, refused.status, refused.fills) == (False, "postWouldExecute", ())
    # A partial execution followed by a CANCEL of the rest.
    partial = (
        execution.replace('"amount":10', '"amount":4')
        + ","
        + ('{"type":"CANCEL","uid":"o-1","order":ORDER}')
    )
    rest = parse_send_status(
        _golden_send(partial.replace("TYPE", "lmt")), intent, fee=venue.fee_for
    )
    assert rest.accepted and rest.remainder_cancelled and rest.fills[0].qty == 4
    # A refusal status keeps Kraken's word and says why.
    funds = parse_send_status(
        _golden_send("", "insufficientAvailableFunds"), intent, fee=venue.fee_for
    )
    assert (funds.accepted, funds.status, funds.cli_ord_id) == (
        False,
        "insufficientAvailableFunds",
        "g-1",
    )
    assert "margin" in funds.reason


async def test_refusals_are_results_not_exceptions(venue_pair: Any) -> None:
    venue, handle = venue_pair
    maker(handle, "sell", "0.01", 60000)
    post = await venue.submit_order(lmt(price=60000, post_only=True, cli_ord_id="post-1"))
    assert (post.accepted, post.status, post.cli_ord_id) == (False, "postWouldExecute", "post-1")
    assert "post-only" in post.reason
    huge = await venue.submit_order(lmt("1000", 59000, cli_ord_id="huge-1"))
    assert (huge.accepted, huge.status) == (False, "insufficientAvailableFunds")
    reduce = await venue.submit_order(lmt(side=Side.SELL, price=61000, reduce_only=True))
    assert (reduce.accepted, reduce.status) == (False, "wouldNotReducePosition")
    assert await venue.open_orders() == []


async def test_ioc_partial_fill_reports_the_fill_and_the_cancelled_remainder(
    venue_pair: Any,
) -> None:
    venue, handle = venue_pair
    maker(handle, "sell", "0.01", 60000)
    intent = OrderIntent(
        XBT, Side.BUY, D("0.03"), order_type=OrderType.IOC, limit_price=D(60000), cli_ord_id="ioc-1"
    )
    result = await venue.submit_order(intent)
    assert result.accepted and result.remainder_cancelled
    [fill] = result.fills
    assert (fill.order_id, fill.cli_ord_id, fill.side, fill.qty, fill.price) == (
        result.order_id,
        "ioc-1",
        Side.BUY,
        D("0.01"),
        D(60000),
    )
    assert (fill.maker, fill.fee, fill.fee_currency) == (False, D("0.01") * 60000 * TAKER, "USD")
    assert fill.ts_ms == handle.clock.now_ms()
    # The same execution from REST: same order, qty, price and computed fee.
    [rest_fill] = await venue.fills()
    assert (rest_fill.order_id, rest_fill.qty, rest_fill.price, rest_fill.fee, rest_fill.maker) == (
        fill.order_id,
        fill.qty,
        fill.price,
        fill.fee,
        False,
    )
    [status] = await venue.order_status(["ioc-1"])
    assert (status.state, status.filled_qty, status.qty) == (
        OrderState.CANCELLED,
        D("0.01"),
        D("0.03"),
    )
    [pos] = await venue.positions()
    assert (pos.symbol, pos.qty, pos.entry_price) == (XBT, D("0.01"), D(60000))


async def test_a_reply_fill_and_the_rest_fill_share_the_fill_id(venue_pair: Any) -> None:
    venue, handle = venue_pair
    maker(handle, "sell", "0.01", 60000)
    result = await venue.submit_order(lmt("0.01", 60000, cli_ord_id="same-1"))
    assert [f.fill_id for f in result.fills] == [f.fill_id for f in await venue.fills()]


async def test_a_market_order_filled_completely_has_no_remainder(venue_pair: Any) -> None:
    venue, handle = venue_pair
    maker(handle, "sell", "0.01", 60000)
    maker(handle, "sell", "0.01", 60010)
    result = await venue.submit_order(
        OrderIntent(XBT, Side.BUY, D("0.02"), order_type=OrderType.MKT, cli_ord_id="mkt-1")
    )
    assert result.accepted and not result.remainder_cancelled
    assert [(f.qty, f.price) for f in result.fills] == [
        (D("0.01"), D(60000)),
        (D("0.01"), D(60010)),
    ]
    maker(handle, "buy", "0.02", 59990)
    sold = await venue.submit_order(
        OrderIntent(XBT, Side.SELL, D("0.02"), order_type=OrderType.MKT, reduce_only=True)
    )
    assert sold.accepted and sum(f.qty for f in sold.fills) == D("0.02")
    assert await venue.positions() == []  # flat symbols are left out


async def test_stop_orders_rest_as_triggers(venue_pair: Any) -> None:
    venue, _ = venue_pair
    stop = OrderIntent(
        XBT, Side.SELL, D("0.01"), order_type=OrderType.STP, stop_price=D(55000), cli_ord_id="stp-1"
    )
    result = await venue.submit_order(stop)
    assert result.accepted and not result.remainder_cancelled
    [snap] = await venue.open_orders()
    assert (snap.order_type, snap.stop_price, snap.cli_ord_id) == (OrderType.STP, D(55000), "stp-1")
    [status] = await venue.order_status(["stp-1"])
    assert (status.order_type, status.stop_price, status.state) == (OrderType.STP, D(55000), "open")


# ------------------------------------------------------------------------ amend / cancel


async def test_amend_sets_the_new_total_and_price(venue_pair: Any) -> None:
    venue, handle = venue_pair
    placed = await venue.submit_order(lmt("0.03", 60000, cli_ord_id="am-1"))
    maker(handle, "sell", "0.01", 60000)  # fills a third of it
    result = await venue.amend_order(
        AmendIntent("am-1", qty=D("0.05"), limit_price=D(59500), order_id=placed.order_id)
    )
    assert (result.cli_ord_id, result.accepted, result.status) == ("am-1", True, "edited")
    [snap] = await venue.open_orders()
    assert (snap.qty, snap.filled_qty, snap.limit_price, snap.state) == (
        D("0.05"),
        D("0.01"),
        D(59500),
        OrderState.PARTIALLY_FILLED,
    )
    gone = await venue.amend_order(AmendIntent("nobody", qty=D("0.02")))
    assert (gone.accepted, gone.status) == (False, "orderForEditNotFound") and gone.reason


async def test_an_amend_that_crosses_reports_its_fills(venue_pair: Any) -> None:
    seen: list[Any] = []
    venue, handle = venue_pair
    venue.on_edit_fill = seen.append
    await venue.submit_order(lmt("0.01", 59000, cli_ord_id="cross-1"))
    maker(handle, "sell", "0.01", 59500)
    result = await venue.amend_order(AmendIntent("cross-1", limit_price=D(59500)))
    assert result.accepted
    [fill] = seen
    assert (fill.cli_ord_id, fill.qty, fill.price, fill.maker) == (
        "cross-1",
        D("0.01"),
        D(59500),
        False,
    )


async def test_cancel_outcomes(venue_pair: Any) -> None:
    venue, handle = venue_pair
    placed = await venue.submit_order(lmt(cli_ord_id="c-1"))
    first = await venue.cancel_order(CancelIntent("c-1", order_id=placed.order_id))
    assert (first.outcome, first.order_id, first.cli_ord_id) == (
        CancelOutcome.CANCELLED,
        placed.order_id,
        "c-1",
    )
    again = await venue.cancel_order(CancelIntent("c-1"))
    assert again.outcome is CancelOutcome.NOT_FOUND
    filled = await venue.submit_order(lmt("0.01", 59000, cli_ord_id="c-2"))
    maker(handle, "sell", "0.01", 59000)
    late = await venue.cancel_order(CancelIntent("c-2", order_id=filled.order_id))
    assert late.outcome is CancelOutcome.FILLED
    unknown = await venue.cancel_order(CancelIntent("never-sent"))
    assert unknown.outcome is CancelOutcome.NOT_FOUND


async def test_cancel_all_by_symbol_then_everything(venue_pair: Any) -> None:
    venue, _ = venue_pair
    a = await venue.submit_order(lmt(cli_ord_id="all-1"))
    b = await venue.submit_order(
        OrderIntent(ETH, Side.BUY, D("0.1"), limit_price=D(2900), cli_ord_id="all-2")
    )
    c = await venue.submit_order(lmt(price=58000))  # no cli_ord_id
    eth = await venue.cancel_all(ETH.lower())
    assert (eth.order_ids, eth.cli_ord_ids) == ((b.order_id,), ("all-2",))
    rest = await venue.cancel_all()
    assert set(rest.order_ids) == {a.order_id, c.order_id} and rest.cli_ord_ids == ("all-1",)
    assert await venue.cancel_all() == type(rest)()


async def test_the_deadman_switch_cancels_unless_rearmed(venue_pair: Any) -> None:
    venue, handle = venue_pair
    await venue.submit_order(lmt(cli_ord_id="dms-1"))
    await venue.arm_deadman(60)
    handle.clock.advance(30_000)
    handle.tick()
    assert len(await venue.open_orders()) == 1
    await venue.arm_deadman(0)  # disarmed: nothing happens after the minute
    handle.clock.advance(60_000)
    handle.tick()
    assert len(await venue.open_orders()) == 1
    await venue.arm_deadman(10)
    handle.clock.advance(11_000)
    handle.tick()
    assert await venue.open_orders() == []
    [status] = await venue.order_status(["dms-1"])
    assert (status.state, status.reason) == (OrderState.CANCELLED, "DEAD_MAN_SWITCH")
    with pytest.raises(ValidationError):
        await venue.arm_deadman(-1)


# ------------------------------------------------------------------- account lookups


async def test_balances_and_fees(venue_pair: Any) -> None:
    venue, handle = venue_pair
    before = {b.currency: b for b in await venue.balances()}
    assert before["USD"].balance == D(100_000) and before["XBT"].balance == D(1)
    maker(handle, "sell", "0.01", 60000)
    await venue.submit_order(lmt("0.01", 60000))
    after = {b.currency: b for b in await venue.balances()}
    [fill] = await venue.fills()
    assert after["USD"].balance == before["USD"].balance - fill.fee
    assert after["USD"].available < after["USD"].balance  # margin for the position
    assert venue.fee_for("PI_XBTUSD", D(1000), D(50000), True) == (
        D(1000) * D("0.0002") / 50000,
        "XBT",
    )
    venue.volume_30d_usd = D(2_000_000)  # the 1M-5M tier: taker 0.03 %
    assert (await venue.fills())[0].fee == D("0.01") * 60000 * D("0.0003")


def test_settlement_currencies() -> None:
    assert [settlement_currency(s) for s in ("PF_XBTUSD", "pi_xbtusd", "FI_ETHUSD_260626")] == [
        "USD",
        "XBT",
        "ETH",
    ]
    assert settlement_currency("PF_XBTUSD", {"PF_XBTUSD": "usdc"}) == "USDC"


async def test_fills_page_back_to_since(venue_pair: Any) -> None:
    venue, handle = venue_pair
    start = handle.clock.now_ms()
    for step in range(3):  # 3 x 40 fills, each batch at its own millisecond
        for i in range(40):
            maker(handle, "sell", "0.001", 60000 + i)
        await venue.submit_order(lmt("0.04", 60040, cli_ord_id=f"sweep-{step}"))
        handle.clock.advance(1_000)
    latest = await venue.fills()
    assert len(latest) == 100
    every = await venue.fills(since_ms=start)
    assert len(every) == 120 and len({f.fill_id for f in every}) == 120
    assert [f.ts_ms for f in every] == sorted(f.ts_ms for f in every)
    assert every[-100:] == latest
    tail = await venue.fills(since_ms=start + 1_000)
    assert len(tail) == 80


async def test_funding_payments_come_from_the_account_log(venue_pair: Any) -> None:
    venue, handle = venue_pair
    maker(handle, "sell", "0.01", 60000)
    await venue.submit_order(lmt("0.01", 60000))
    handle.ctl(cmd="mark", symbol=XBT, price="60600")  # a premium: longs pay
    for _ in range(2):
        handle.clock.advance(3_600_000)
        handle.tick()
    payments = await venue.funding_payments(since_ms=0)
    assert payments and all(p.symbol == XBT and p.amount > 0 and p.payment_id for p in payments)
    assert [p.ts_ms for p in payments] == sorted(p.ts_ms for p in payments)
    later = await venue.funding_payments(since_ms=payments[-1].ts_ms + 1)
    assert later == []


def test_funding_rows_sign_and_filter() -> None:
    from krakenfutures.core.rest.schema_history import AccountLogEntry

    row = AccountLogEntry(
        id=7,
        date="2026-01-01T01:00:00.000Z",
        asset="usd",
        info="funding rate change",
        contract="pf_xbtusd",
        realized_funding=D("-0.12"),
    )
    paid = parse_funding_entry(row)
    assert paid is not None and (paid.symbol, paid.amount, paid.ts_ms, paid.payment_id) == (
        XBT,
        D("0.12"),
        1_767_229_200_000,
        "account-log-7",
    )
    assert (
        parse_funding_entry(AccountLogEntry(id=8, date=row.date, asset="usd", info="futures trade"))
        is None
    )


# ------------------------------------------------------------------------ fault contract


async def test_a_lost_reply_is_recovered_by_the_client_and_places_one_order() -> None:
    venue, handle = make()
    tracker = OrderTracker(CliOrdIdGenerator("lost"))
    now = handle.clock.now_ms()
    intent = tracker.submit(lmt(), now_ms=now)
    handle.ctl(cmd="faults", set={"drop_after_execute_next": 1})
    result = await venue.submit_order(intent)  # the retry meets clientOrderIdAlreadyExist
    assert (result.accepted, result.status, result.fills) == (True, "placed", ())
    assert not result.remainder_cancelled  # the recovered reply tells nothing more
    tracker.on_submit_result(result, now_ms=handle.clock.now_ms())
    assert tracker.get(intent.cli_ord_id).state is OrderState.OPEN
    assert [o.order_id for o in exchange_orders(handle)] == [result.order_id]


@pytest.mark.parametrize(
    ("fault", "error", "executed"),
    [
        ("drop_after_execute_next", TimeoutError_, True),
        ("http_5xx_next", UnavailableError, False),
        ("unavailable_next", UnavailableError, False),
    ],
)
async def test_maybe_executed_errors_reconcile_to_exactly_one_order(
    fault: str, error: type[Exception], executed: bool
) -> None:
    venue, handle = make(retry=RetryPolicy(max_attempts=1))
    tracker = OrderTracker(CliOrdIdGenerator("f"), settle_ms=5_000, clock_margin_ms=1_000)
    intent = tracker.submit(lmt(), now_ms=handle.clock.now_ms())
    handle.ctl(cmd="faults", set={fault: 1})
    with pytest.raises(error) as info:
        await venue.submit_order(intent)
    assert not isinstance(info.value, ConnectError)
    cli = intent.cli_ord_id
    tracker.on_reply_lost(cli, now_ms=handle.clock.now_ms(), reason=str(info.value))
    await reconcile(tracker, venue, handle.clock.now_ms())
    if executed:
        assert tracker.get(cli).state is OrderState.OPEN and not tracker.may_resend(cli)
    else:
        assert tracker.get(cli).state is OrderState.UNKNOWN  # absence is not proven yet
        handle.clock.advance(6_001)  # past the deadline plus the clock margin
        await reconcile(tracker, venue, handle.clock.now_ms())
        assert tracker.get(cli).state is OrderState.REJECTED and tracker.may_resend(cli)
        again = tracker.resend(cli, now_ms=handle.clock.now_ms())
        result = await venue.submit_order(again)
        tracker.on_submit_result(result, now_ms=handle.clock.now_ms())
        assert tracker.get(again.cli_ord_id).state is OrderState.OPEN
    assert len(exchange_orders(handle)) == 1


async def test_a_retry_after_the_deadline_is_not_taken_for_a_refusal() -> None:
    # The reply is lost, the client waits 900 ms and retries: past processBefore the exchange
    # answers wouldProcessAfterSpecifiedTime for the retry, while the first attempt rests.
    policy = RetryPolicy(max_attempts=2, base_delay_ms=1_000, max_delay_ms=1_000)
    venue, handle = make(retry=policy, rng=_Fixed())
    tracker = OrderTracker(CliOrdIdGenerator("late"), settle_ms=200, clock_margin_ms=0)
    intent = tracker.submit(lmt(), now_ms=handle.clock.now_ms())
    handle.ctl(cmd="faults", set={"drop_after_execute_next": 1})
    with pytest.raises(TimeoutError_, match="processBefore"):
        await venue.submit_order(intent)
    tracker.on_reply_lost(intent.cli_ord_id, now_ms=handle.clock.now_ms())
    await reconcile(tracker, venue, handle.clock.now_ms())
    assert tracker.get(intent.cli_ord_id).state is OrderState.OPEN
    assert not tracker.may_resend(intent.cli_ord_id)
    assert len(exchange_orders(handle)) == 1


async def test_five_xx_is_retried_by_the_client_and_places_one_order() -> None:
    venue, handle = make()
    handle.ctl(cmd="faults", set={"http_5xx_next": 1})
    result = await venue.submit_order(lmt(cli_ord_id="retried-1"))
    assert result.accepted and len(exchange_orders(handle)) == 1


async def test_an_unreadable_reply_means_the_outcome_is_unknown() -> None:
    _, handle = make()

    def garbage(method: str, target: str, headers: Any, body: bytes) -> Response:
        handle.handle(method, target, headers, body)  # executed...
        return Response(200, b"<html>proxy error</html>", {})  # ...answer mangled

    client = AsyncClient(
        "test-key-main",
        handle.api_secret,
        transport=AsyncHandlerTransport(garbage),
        base_url=handle.base_url,
        nonce="memory",
        clock_ms=handle.clock.now_ms,
        rate_limit=False,
        env={"HOME": "/nonexistent-kf-home"},
    )
    venue = LiveVenue(client)
    with pytest.raises(TransportError, match="may have been carried out") as info:
        await venue.submit_order(lmt(cli_ord_id="garbled-1"))
    assert not isinstance(info.value, ConnectError)
    assert len(exchange_orders(handle)) == 1


async def test_a_refused_connection_is_surely_not_sent() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AsyncClient(
        "test-key-main",
        "AAAA",
        base_url=f"http://127.0.0.1:{port}",
        nonce="memory",
        retry=RetryPolicy(max_attempts=1),
        rate_limit=False,
        env={"HOME": "/nonexistent-kf-home"},
    )
    venue = LiveVenue(client)
    tracker = OrderTracker(CliOrdIdGenerator("conn"))
    intent = tracker.submit(lmt(), now_ms=1)
    with pytest.raises(ConnectError) as info:
        await venue.submit_order(intent)
    tracker.on_send_failed(intent.cli_ord_id, now_ms=2, reason=str(info.value))
    assert tracker.may_resend(intent.cli_ord_id)
    await client.aclose()


# ----------------------------------------------------------------------------- loopback


@pytest.fixture(scope="module")
def venue_loopback() -> Iterator[Any]:
    with running_simulator(sim_config(rate_limits=False)) as handle:
        handle._run(lambda: handle.exchange.open_account("maker", flex={"USD": D(10_000_000)}))
        yield handle


def loopback_venue(handle: Any, **kwargs: Any) -> LiveVenue:
    client = AsyncClient(
        handle.api_key,
        handle.api_secret,
        base_url=handle.base_url,
        nonce="memory",
        clock_ms=handle.clock.now_ms,
        rate_limit=False,
        env={"HOME": "/nonexistent-kf-home"},
        **kwargs,
    )
    return LiveVenue(client)


async def test_round_trip_over_loopback(venue_loopback: Any) -> None:
    handle = venue_loopback
    venue = loopback_venue(handle)
    try:
        placed = await venue.submit_order(
            lmt(cli_ord_id="lb-1", process_before_ms=handle.clock.now_ms() + 5_000)
        )
        assert placed.accepted
        assert [o.cli_ord_id for o in await venue.open_orders()] == ["lb-1"]
        maker(handle, "sell", "0.01", 60000)
        ioc = OrderIntent(XBT, Side.BUY, D("0.02"), order_type=OrderType.IOC, limit_price=D(60000))
        partial = await venue.submit_order(ioc)
        assert partial.accepted and partial.remainder_cancelled and len(partial.fills) == 1
        assert (await venue.positions())[0].qty == D("0.01")
        assert {b.currency for b in await venue.balances()} >= {"USD", "XBT"}
        edited = await venue.amend_order(AmendIntent("lb-1", qty=D("0.02")))
        assert edited.accepted
        done = await venue.cancel_all()
        assert done.cli_ord_ids == ("lb-1",)
    finally:
        await venue.client.aclose()


@pytest.mark.parametrize(
    ("fault", "error"),
    [("drop_after_execute_next", TransportError), ("http_5xx_next", UnavailableError)],
)
async def test_loopback_faults_raise_maybe_executed_errors(
    venue_loopback: Any, fault: str, error: type[Exception]
) -> None:
    handle = venue_loopback
    venue = loopback_venue(handle, retry=RetryPolicy(max_attempts=1))
    tracker = OrderTracker(CliOrdIdGenerator(f"lb-{fault[:4]}"))
    try:
        intent = tracker.submit(lmt(price=58000), now_ms=handle.clock.now_ms())
        handle.ctl(cmd="faults", set={fault: 1})
        with pytest.raises(error) as info:
            await venue.submit_order(intent)
        assert not isinstance(info.value, ConnectError)
        tracker.on_reply_lost(intent.cli_ord_id, now_ms=handle.clock.now_ms())
        await reconcile(tracker, venue, handle.clock.now_ms())
        mine = [o for o in exchange_orders(handle) if o.cli_ord_id == intent.cli_ord_id]
        if fault == "drop_after_execute_next":  # executed, then the connection died
            assert tracker.get(intent.cli_ord_id).state is OrderState.OPEN and len(mine) == 1
        else:  # the 502 came before anything happened
            assert tracker.get(intent.cli_ord_id).state is OrderState.UNKNOWN and mine == []
    finally:
        await venue.cancel_all()
        await venue.client.aclose()


async def test_start_submit_writes_within_the_call_and_the_rest_retries_as_usual(
    venue_loopback: Any,
) -> None:
    handle = venue_loopback
    venue = loopback_venue(handle)  # client retries on (3 attempts)
    deadline = handle.clock.now_ms() + 5_000
    try:
        sent, rest = venue.start_submit(lmt(price=57000, cli_ord_id="st-cold"))
        assert sent is False  # no connection yet: awaiting ``rest`` opens one and sends
        assert (await rest).accepted
        sent, rest = venue.start_submit(
            lmt(price=57001, cli_ord_id="st-warm", process_before_ms=deadline)
        )
        assert sent is True  # written on the kept-alive connection within the call
        assert (await rest).accepted
        # A 502 to the attempt that left within the call: the flow retries it from the task
        # (the client's usual policy), and exactly one order results.
        handle.ctl(cmd="faults", set={"http_5xx_next": 1})
        sent, rest = venue.start_submit(
            lmt(price=57002, cli_ord_id="st-5xx", process_before_ms=deadline)
        )
        assert sent is True and (await rest).accepted
        mine = sorted(o.cli_ord_id for o in exchange_orders(handle) if o.cli_ord_id[:3] == "st-")
        assert mine == ["st-5xx", "st-cold", "st-warm"]
        trailing = OrderIntent(XBT, Side.BUY, D("0.01"), order_type=OrderType.TRAILING_STOP)
        with pytest.raises(ValidationError, match="trailing-stop parameters"):
            venue.start_submit(trailing)  # refused before anything is sent
    finally:
        await venue.cancel_all()
        await venue.client.aclose()
