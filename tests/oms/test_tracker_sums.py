"""The tracker's O(1) live sums equal a full scan of its orders after any sequence of events."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.orders import OrderIntent
from krakenfutures.core.types import Side
from krakenfutures.oms.tracker import CliOrdIdGenerator, OrderTracker
from krakenfutures.oms.venue import CancelOutcome, CancelResult, FillRecord, SubmitResult

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["submit", "ack", "fill", "cancel", "reject", "lost"]),
        st.integers(0, 9),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["PF_XBTUSD", "PF_ETHUSD"]),
        st.sampled_from([Side.BUY, Side.SELL]),
    ),
    max_size=60,
)


def _scan(tracker: OrderTracker, strategy: str, symbol: str) -> tuple[int, Decimal, Decimal]:
    live = [
        o
        for o in tracker.orders()
        if not o.state.is_terminal and o.strategy == strategy and o.symbol == symbol
    ]
    buy = sum((o.remaining_qty for o in live if o.intent.side is Side.BUY), Decimal(0))
    sell = sum((o.remaining_qty for o in live if o.intent.side is Side.SELL), Decimal(0))
    return len(live), buy, sell


@settings(max_examples=150, deadline=None)
@given(STEPS)
def test_live_sums_equal_a_scan(steps: list[tuple[str, int, str, str, Side]]) -> None:
    tracker = OrderTracker(CliOrdIdGenerator("t"))
    ids: list[str] = []
    fills = 0
    for now, (action, pick, strategy, symbol, side) in enumerate(steps, start=1):
        if action == "submit" or not ids:
            intent = OrderIntent(symbol=symbol, side=side, qty=Decimal(4), limit_price=Decimal(100))
            ids.append(tracker.submit(intent, now_ms=now, strategy=strategy).cli_ord_id)
            continue
        cli = ids[pick % len(ids)]
        order = tracker.get(cli)
        try:
            if action == "ack":
                tracker.on_submit_result(
                    SubmitResult(cli, True, "placed", order_id=f"o-{cli}"), now_ms=now
                )
            elif action == "fill" and order.state.is_working:
                fills += 1
                tracker.on_fill(
                    FillRecord(
                        f"f{fills}",
                        order.order_id or f"o-{cli}",
                        cli,
                        order.symbol,
                        order.intent.side,
                        Decimal(1),
                        Decimal(100),
                        Decimal(0),
                        "USD",
                        now,
                        True,
                    ),
                    now_ms=now,
                )
            elif action == "cancel" and order.state.is_working:
                tracker.cancel(cli, now_ms=now)
                tracker.on_cancel_result(CancelResult(cli, CancelOutcome.CANCELLED), now_ms=now)
            elif action == "reject":
                tracker.on_submit_result(SubmitResult(cli, False, "postWouldExecute"), now_ms=now)
            elif action == "lost" and order.state.value == "pending_new":
                tracker.on_reply_lost(cli, now_ms=now)
        except Exception:  # an illegal transition for this state: the tracker refused it
            pass
        for strat in ("a", "b"):
            for sym in ("PF_XBTUSD", "PF_ETHUSD"):
                count, buy, sell = _scan(tracker, strat, sym)
                assert tracker.live_count(strategy=strat, symbol=sym) == count
                assert tracker.live_qty(Side.BUY, symbol=sym, strategy=strat) == buy
                assert tracker.live_qty(Side.SELL, symbol=sym, strategy=strat) == sell
