"""A real Node trading on the unified dialect (UnifiedVenue + UnifiedMarket over real loopback
against the simulator's uws endpoints, wired as ``kf run --dialect unified`` wires it): the order
flow under injected uws faults ends with every intended order resting exactly once, and no order
the trading state forbids ever leaves. The legacy twins are test_node_orders.py and
test_node_safety.py; restart reconciliation on both dialects is test_kill9_restart.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.feed import Backoff
from krakenfutures.client.spot_rest import AsyncSpotRest
from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.client.uws_token import TokenPolicy
from krakenfutures.core.types import TradingState
from krakenfutures.errors import KrakenFuturesError
from krakenfutures.oms.venue import CancelIntent, CancelResult, OrderIntent, SubmitResult
from krakenfutures.risk.rules import GATE, Action, Denied
from krakenfutures.runtime.clock import FollowClock
from krakenfutures.runtime.journal import Journal
from krakenfutures.runtime.launch import instruments_from_rest
from krakenfutures.runtime.live_venue import LiveVenue
from krakenfutures.runtime.monitor import TradingStateMonitor
from krakenfutures.runtime.node import Node
from krakenfutures.runtime.unified_market import UnifiedMarket
from krakenfutures.runtime.unified_venue import UnifiedVenue
from krakenfutures.sim.server import SimServer, ThreadedServer
from krakenfutures.sim.state import ExchangeConfig
from krakenfutures.strategy import Strategy
from krakenfutures.testing import (
    SPOT_KEY,
    SPOT_SECRET,
    TEST_KEY,
    TEST_SECRET,
    FakeClock,
    SimHandle,
    make_simulator,
    sim_config,
)

SYMBOL = "PF_XBTUSD"
QTY = Decimal("0.001")
FAST = Backoff(initial_s=0.01, max_s=0.05)
UNRESOLVED = ("pending_new", "unknown", "pending_cancel")


class RunningClock(FakeClock):
    """Exchange time at wall speed (speed 1) that the test may still push forward by hand: the
    simulator, its ticking loop and the node all read this one clock."""

    def __init__(self) -> None:
        super().__init__()
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        return self.ms + int((time.monotonic() - self._t0) * 1000)


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    """A ticking simulator with the Spot keys, served over loopback on a running clock."""
    # Room for the fault test's 1,000 resting orders (Kraken's default cap is lower).
    config = sim_config(spot=True, exchange=ExchangeConfig(max_open_orders=1_500))
    handle = make_simulator(config, clock=RunningClock())
    server = ThreadedServer(SimServer.for_simulator(handle.simulator, handle.clock, ticking=True))
    server.start()
    handle._server = server
    handle.base_url = server.base_url
    try:
        yield handle
    finally:
        server.stop()


def sim_state(sim: SimHandle) -> str:
    """The simulator's own trading state of SYMBOL right now."""
    return str(sim._run(lambda: sim.exchange.trading_state(SYMBOL).value))


def exchange_orders(sim: SimHandle) -> list[Any]:
    """The simulator's own view of the account's resting orders."""
    return list(sim._run(lambda: sim.exchange.open_orders("main")))


@dataclass
class Sent:
    """A venue call the node made, with the simulator's trading state of SYMBOL at that time."""

    method: str
    order_type: str
    state: str


class RecordingVenue(UnifiedVenue):
    """The real UnifiedVenue, noting every order request the node hands it."""

    def __init__(self, conn: AsyncUwsConnection, sim: SimHandle, **kwargs: Any) -> None:
        super().__init__(conn, **kwargs)
        self.sim = sim
        self.sent: list[Sent] = []

    async def submit_order(self, intent: OrderIntent) -> SubmitResult:
        self.sent.append(Sent("add_order", intent.order_type.value, sim_state(self.sim)))
        return await super().submit_order(intent)

    async def cancel_order(self, intent: CancelIntent) -> CancelResult:
        self.sent.append(Sent("cancel_order", "", sim_state(self.sim)))
        return await super().cancel_order(intent)


class Manual(Strategy):
    """Driven by the test through its context."""

    symbols = (SYMBOL,)


@dataclass
class Bot:
    """A node on the unified dialect and everything it was built from."""

    node: Node
    venue: RecordingVenue
    private: AsyncUwsConnection
    market: UnifiedMarket
    closers: list[Any]
    wire: list[dict[str, Any]] = field(default_factory=list)  # order replies read off the socket
    feeding: asyncio.Task[None] | None = None

    @property
    def ctx(self) -> Any:
        return self.node.contexts["Manual"]

    async def poll_states(self) -> None:
        """Make the monitor look now (as its loop would) and hand changes to the node."""
        assert self.node.monitor is not None
        for change in await self.node.monitor.poll_once():
            self.node._on_state_change(change)


@pytest.fixture
async def bot(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Bot]:
    """Wired as runtime/launch.py ``_unified`` does: a token per connection from Spot REST
    (AsyncSpotRest + TokenPolicy), UnifiedVenue with the legacy LiveVenue as fallback, the uws
    market source, and the REST trading-state monitor over the legacy client. The node runs its
    start-up for real; its background duties are driven by the test."""
    env = {"KRAKEN_FUTURES_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    clock = FollowClock(sim.clock.now_ms, 1.0)
    client = AsyncClient(
        TEST_KEY, TEST_SECRET, base_url=sim.base_url, nonce="memory", rate_limit=False, env=env
    )
    spot = AsyncSpotRest(SPOT_KEY, SPOT_SECRET, base_url=sim.base_url, nonce="memory", env=env)
    wire: list[dict[str, Any]] = []

    def tap(raw: bytes, _ts_ns: int) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(raw)
            if isinstance(message, dict) and message.get("method") in ("add_order", "cancel_order"):
                wire.append(message)

    private = AsyncUwsConnection(
        sim.base_url,
        token_provider=TokenPolicy(spot),
        stale_after_s=None,
        request_timeout_s=1.0,  # a dropped reply costs a second, not ten
        backoff=FAST,
        on_frame=tap,
    )
    public = AsyncUwsConnection(sim.base_url, stale_after_s=None, backoff=FAST)
    venue = RecordingVenue(private, sim, fallback=LiveVenue(client), lookup_timeout_s=5.0)
    market = UnifiedMarket(public, private, [SYMBOL])
    monitor = TradingStateMonitor(
        client, [SYMBOL], now_ms=clock.now_ms, poll_s=5.0, max_age_ms=600_000
    )
    journal = Journal(tmp_path / "journal.sqlite")
    node = Node(
        [Manual()],
        venue=venue,
        clock=clock,
        instruments=instruments_from_rest(await client.get_instruments()),
        market=market,
        monitor=monitor,
        journal=journal,
        bot_name="uws",
    )
    wired = Bot(node, venue, private, market, [market, public, private, spot, client], wire)
    await venue.start()  # the private socket first: it is the oldest, dropped first
    wired.feeding = asyncio.create_task(_feed(node, market))
    try:
        await node.start(background=False)
        await until(lambda: node.mark(SYMBOL) is not None, "a ticker on the uws feed")
        yield wired
    finally:
        with contextlib.suppress(KrakenFuturesError):
            await node.shutdown()  # idempotent: a no-op after the test's own
        wired.feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wired.feeding
        for closer in wired.closers:
            await closer.aclose()
        journal.close()


async def _feed(node: Node, market: UnifiedMarket) -> None:
    async for event in market:
        node.on_market(event)


async def until(check: Any, what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def settle(node: Node, rounds: int = 30) -> None:
    """Let queued requests finish and reconcile until no order is pending or unknown."""
    for _ in range(rounds):
        await node.manager.drain(timeout_s=10)
        with contextlib.suppress(KrakenFuturesError):  # the node's loop tolerates a failure too
            await node.manager.reconcile(full=True)
        await node.manager.drain(timeout_s=10)
        live = node.manager.tracker.orders(live_only=True)
        if not any(o.state.value in UNRESOLVED for o in live):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("orders still unresolved after settling")


N = 1_000


async def uws_faulted_round(sim: SimHandle, bot: Bot, base: Decimal, n: int = N) -> None:
    """Submit ``n`` post-only buys with 20 % of them meeting a fault, settle, and check the
    exchange holds exactly them (none duplicated, none lost), every one open in the tracker."""
    node = bot.node
    intended = []
    for i in range(n):
        # 20 % of the orders meet a fault, as on the legacy dialect: 10 % executed and never
        # answered, 10 % refused as unavailable (not executed), and a socket drop every 140.
        if i % 10 == 4:  # executed, never answered
            sim.ctl(cmd="faults", set={"uws_drop_reply_next": 1})
        if i % 10 == 7:  # the uws twin of a 503: refused, nothing executed
            sim.ctl(cmd="faults", set={"uws_unavailable_next": 1})
        if i % 140 == 35:  # both sockets dropped mid-flow, requests in flight
            sim.ctl(cmd="faults", set={"uws_drop_next": 2})
            sim.tick()
        price = base + i
        result = bot.ctx.submit(
            symbol=SYMBOL, side="buy", qty=QTY, limit_price=price, post_only=True
        )
        assert isinstance(result, str), result
        intended.append(price)
        await asyncio.sleep(0.003)  # let it go out, so the faults land between orders
    sim.ctl(
        cmd="faults",
        set={"uws_drop_reply_next": 0, "uws_unavailable_next": 0, "uws_drop_next": 0},
    )
    await settle(node)

    resting = Counter(Decimal(str(o.limit_price)) for o in exchange_orders(sim))
    duplicated = {p: k for p, k in resting.items() if k > 1}
    missing = [p for p in intended if p not in resting]
    assert not duplicated, f"duplicated orders at {sorted(duplicated)[:5]}"
    if missing:
        by_price: dict[Decimal, list[str]] = {}
        for o in node.manager.tracker.orders():
            if o.intent.limit_price in missing[:3]:
                by_price.setdefault(o.intent.limit_price, []).append(
                    f"{o.cli_ord_id}:{o.state.value}:{o.reason}"
                )
        raise AssertionError(f"lost orders at {missing[:5]} ({len(missing)}): {by_price}")
    assert sum(resting.values()) == n
    working = node.manager.tracker.orders(live_only=True)
    assert len(working) == n and all(o.state.value == "open" for o in working)


def _base(bot: Bot) -> Decimal:
    mark = bot.node.mark(SYMBOL)
    assert mark is not None
    return (mark * Decimal("0.96")).to_integral_value()  # tick 1, inside the 5 % band


async def test_submissions_under_uws_faults_end_exactly_as_intended(
    sim: SimHandle, bot: Bot
) -> None:
    node = bot.node
    await uws_faulted_round(sim, bot, _base(bot))
    # The faults really fired and the OMS resolved them, not luck: 100 unanswered orders, 100
    # refused as unavailable, seven socket drops (each loses what was in flight; orders refused
    # while down are resent).
    assert node.manager.lost_replies >= N // 10
    assert bot.private.reconnects >= 2
    assert node.halts == {}
    sends = [s for s in bot.venue.sent if s.method == "add_order"]
    assert len(sends) >= N
    await node.shutdown()
    assert exchange_orders(sim) == []  # stop cancels what the bot placed


@pytest.mark.slow
async def test_soak_uws_rounds_of_faulted_submissions_and_cancels(sim: SimHandle, bot: Bot) -> None:
    """``make soak``: five rounds of 1,000 faulted submissions over uws; after each, every
    order is cancelled with socket drops and lost replies still coming, and the book must end
    empty."""
    node = bot.node
    base = _base(bot)
    for _ in range(5):
        # The node's background duties are off here; re-arm its dead man's switch as its
        # loop would (a round takes ~12 s; the 60 s switch would otherwise fire mid-soak).
        await node._arm_deadman()
        await uws_faulted_round(sim, bot, base)
        sim.ctl(cmd="faults", set={"uws_drop_reply_next": 50, "uws_drop_next": 1})
        assert node.manager.cancel_all() == N
        for _ in range(40):  # what stayed unknown is looked up; deferred cancels go out
            await settle(node)
            node.manager.cancel_all()
            await node.manager.drain(timeout_s=10)
            if not exchange_orders(sim):
                break
        sim.ctl(cmd="faults", set={"uws_drop_reply_next": 0, "uws_drop_next": 0})
        assert exchange_orders(sim) == []
        assert not node.manager.tracker.orders(live_only=True)
    assert node.halts == {}
    await node.shutdown()


def _allowed(state: str, order_type: str) -> bool:
    actions = GATE[TradingState(state)]
    return Action.ANY_ORDER in actions or (order_type == "post" and Action.POST_ONLY in actions)


async def test_no_forbidden_order_leaves_in_any_trading_state(sim: SimHandle, bot: Bot) -> None:
    node, ctx = bot.node, bot.ctx
    mark = node.mark(SYMBOL)
    assert mark is not None
    near = mark.to_integral_value()
    allowed_sends = 0
    steps = ["open", "post_only", "suspended", "maintenance", "open", "post_only"]
    for state in steps:
        sim.ctl(cmd="state", symbol=SYMBOL, state=state)
        await bot.poll_states()
        assert node.trading_state(SYMBOL).value == state
        for order_type, price in (("lmt", near - 50), ("post", near - 60), ("mkt", None)):
            verdict = ctx.submit(
                symbol=SYMBOL, side="buy", qty=QTY, order_type=order_type, limit_price=price
            )
            allowed = _allowed(state, order_type)
            assert isinstance(verdict, str) == allowed, (state, order_type, verdict)
            if isinstance(verdict, Denied):
                assert "trading_state" in verdict.rule.value
            allowed_sends += allowed
        await node.manager.drain()
        for order in ctx.open_orders(SYMBOL):
            ctx.cancel(order.cli_ord_id)  # cancels go out in every state
        await node.manager.drain()

    sends = [s for s in bot.venue.sent if s.method == "add_order"]
    assert sends, "nothing was sent at all: the test proves nothing"
    for sent in sends:
        assert _allowed(sent.state, sent.order_type), f"{sent.order_type} sent while {sent.state}"
    assert len(sends) == allowed_sends == 2 * 3 + 2 * 1
    # What reached the simulator: one add_order answer per send, none more.
    assert len([m for m in bot.wire if m["method"] == "add_order"]) == allowed_sends
    assert any(s.method == "cancel_order" and s.state != "open" for s in bot.venue.sent)
    states_seen = [e for e in node.recent if e.kind.value == "trading_state"]
    assert len(states_seen) >= len(steps) - 1
    await node.shutdown()
    assert exchange_orders(sim) == []
