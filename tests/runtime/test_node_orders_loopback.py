"""The order flow's fast path over real loopback HTTP: the request is written from inside
``submit`` (and ``cancel``) on a kept-alive connection (``AsyncHttpPool.start``), before the order is tracked
or any task exists for its reply. Under the same 20 % faults as the in-memory runs (executed
orders whose connection dies before the reply, 5xx, ``Unavailable``) the exchange must end
with exactly the intended orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from krakenfutures.errors import ConnectError
from krakenfutures.sim.state import ExchangeConfig
from krakenfutures.testing import running_simulator, sim_config
from krakenfutures.testing.node import SYMBOL, make_rig
from krakenfutures.transport.async_pool import AsyncHttpPool

from .test_node_orders import TICK, faulted_round, settle


class CountingPool(AsyncHttpPool):
    """The real pool, counting the requests written from plain code (the fast path)."""

    started = 0
    deferred = 0

    def start(self, *args: Any) -> Any:
        reply = super().start(*args)
        if reply is None:
            self.deferred += 1
        else:
            self.started += 1
        return reply


async def test_faulted_submissions_over_loopback_end_exactly_as_intended() -> None:
    config = sim_config(rate_limits=False, exchange=ExchangeConfig(max_open_orders=1_000))
    with running_simulator(config) as handle:
        rig = make_rig(handle=handle, client_attempts=1, record=False)
        pool = CountingPool(handle.base_url, timeout_s=5.0)
        rig.client._transport = pool
        await rig.start()
        ctx = rig.node.contexts["Idle"]
        mark = rig.node.mark(SYMBOL)
        assert mark is not None
        base = (mark * Decimal("0.96") / TICK).to_integral_value() * TICK

        # One submit, watched: its bytes left inside the call, and it is tracked on return.
        in_flight = pool._slots.free
        cli = ctx.submit(
            symbol=SYMBOL, side="buy", qty=Decimal("0.001"), limit_price=base, post_only=True
        )
        assert isinstance(cli, str)
        assert pool.started == 1 and pool._slots.free == in_flight - 1
        assert rig.node.manager.tracker.get(cli).state.value == "pending_new"
        await rig.node.manager.drain()
        assert rig.node.manager.tracker.get(cli).state.value == "open"
        ctx.cancel(cli)  # a cancel takes the same way
        assert pool.started == 2 and pool._slots.free == in_flight - 1
        assert rig.node.manager.tracker.get(cli).state.value == "pending_cancel"
        await rig.node.manager.drain()
        assert rig.node.manager.tracker.get(cli).state.value == "cancelled"

        # A request that fails before it is sent fails as the awaited call would: surely not
        # sent, so the order manager resends it (once) and one order rests.
        manager = rig.node.manager
        fast = manager._start_submit

        def refuse(intent: Any) -> Any:
            raise ConnectError("test: the connection was refused; nothing was sent")

        manager._start_submit = refuse
        refused = ctx.submit(
            symbol=SYMBOL, side="buy", qty=Decimal("0.001"), limit_price=base + TICK, post_only=True
        )
        manager._start_submit = fast
        assert isinstance(refused, str)
        await settle(rig)
        assert manager.tracker.get(refused).state.value == "rejected"
        assert [o.limit_price for o in rig.exchange_open_orders()] == [base + TICK]
        ctx.cancel_all()
        await settle(rig)

        await faulted_round(rig, base + 10 * TICK, n=300)
        # Both ways were taken: written at once on a kept-alive connection, and (in bursts of
        # 50, more than the idle connections kept) sent from the task once one is opened.
        assert pool.started > 20 and pool.deferred > 20
        assert rig.node.manager.lost_replies > 5  # the dropped replies really happened
        await rig.node.shutdown()
        assert rig.exchange_open_orders() == []
        await pool.aclose()
