"""Safety of a running node against the real simulator: the trading-state gate, the dead man's
switch, restart from the journal, and secrets kept out of every output."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from krakenfutures.core.types import TradingState
from krakenfutures.risk.rules import GATE, Action, Denied
from krakenfutures.runtime.journal import Journal, rebuild_positions
from krakenfutures.testing import TEST_SECRET
from krakenfutures.testing.node import SYMBOL, make_rig

QTY = Decimal("0.001")


def _allowed(state: str, order_type: str) -> bool:
    actions = GATE[TradingState(state)]
    return Action.ANY_ORDER in actions or (order_type == "post" and Action.POST_ONLY in actions)


async def test_no_forbidden_order_leaves_in_any_trading_state() -> None:
    rig = make_rig()
    node = rig.node
    await rig.start()
    ctx = node.contexts["Idle"]
    mark = node.mark(SYMBOL)
    assert mark is not None
    near = mark.to_integral_value()
    tried: dict[str, int] = {}
    steps = [
        ("state", "open"),
        ("state", "post_only"),
        ("state", "suspended"),
        ("state", "maintenance"),
        ("state", "open"),
        ("outage", "unknown"),
        ("state", "post_only"),
    ]
    for kind, state in steps:
        if kind == "state":
            rig.handle.ctl(cmd="faults", set={"unavailable_rate": 0})
            rig.handle.ctl(cmd="state", symbol=SYMBOL, state=state)
            await rig.refresh_tickers()
            await rig.poll_states()
        else:  # the exchange stops answering: data ages into UNKNOWN
            rig.handle.ctl(cmd="faults", set={"unavailable_rate": 1.0})
            rig.handle.clock.advance(601_000)
            await rig.poll_states()
        assert node.trading_state(SYMBOL).value == state
        for order_type, price in (("lmt", near - 50), ("post", near - 60), ("mkt", None)):
            verdict = ctx.submit(
                symbol=SYMBOL, side="buy", qty=QTY, order_type=order_type, limit_price=price
            )
            allowed = _allowed(state, order_type)
            assert isinstance(verdict, str) == allowed, (state, order_type, verdict)
            if isinstance(verdict, Denied):
                assert "trading_state" in verdict.rule.value
            tried[state] = tried.get(state, 0) + allowed
        for order in ctx.open_orders(SYMBOL):
            ctx.cancel(order.cli_ord_id)  # cancels go out in every state
        await node.manager.drain()
    rig.handle.ctl(cmd="faults", set={"unavailable_rate": 0})
    sends = [s for s in rig.sent if s.path == "sendorder"]
    assert sends, "nothing was sent at all: the test proves nothing"
    for sent in sends:
        order_type = sent.params["orderType"][0]
        assert _allowed(sent.state, order_type), f"{order_type} order sent while {sent.state}"
    assert len(sends) == sum(tried.values())
    assert any(s.path == "cancelorder" and s.state != "open" for s in rig.sent)
    strategy = node.strategies[0]
    assert sum(1 for kind, _ in strategy.seen if kind == "state") >= len(steps) - 1
    await node.shutdown()


async def test_a_crashed_bot_leaves_no_orders_behind() -> None:
    rig = make_rig()
    node = rig.node
    await rig.start()
    ctx = node.contexts["Idle"]
    mark = node.mark(SYMBOL)
    assert mark is not None
    for i in range(3):
        ctx.submit(
            symbol=SYMBOL,
            side="buy",
            qty=QTY,
            limit_price=mark.to_integral_value() - 100 - i,
            post_only=True,
        )
    await node.manager.drain()
    assert len(rig.exchange_open_orders()) == 3
    for _ in range(4):  # alive: re-armed every 15 s, orders stay
        rig.handle.clock.advance(15_000)
        await node._arm_deadman()
        rig.handle.tick()
    assert len(rig.exchange_open_orders()) == 3
    # The bot dies here (no shutdown, no disarm). A minute later the exchange cancels all.
    rig.handle.clock.advance(61_000)
    rig.handle.tick()
    assert rig.exchange_open_orders() == []


async def test_restart_from_the_journal_continues_with_the_same_positions(tmp_path: Path) -> None:
    journal_path = tmp_path / "bot.sqlite"
    rig = make_rig(journal_path=journal_path, market=True)
    node = rig.node
    await rig.start()
    ctx = node.contexts["Idle"]
    mark = node.mark(SYMBOL)
    assert mark is not None
    ctx.submit(symbol=SYMBOL, side="buy", qty=Decimal("0.01"), order_type="mkt")
    ctx.submit(symbol=SYMBOL, side="buy", qty=Decimal("0.02"), order_type="mkt")
    rest = ctx.submit(
        symbol=SYMBOL,
        side="buy",
        qty=QTY,
        limit_price=mark.to_integral_value() - 200,
        post_only=True,
    )
    assert isinstance(rest, str)
    await node.manager.drain()
    before = node.manager.positions.get("Idle", SYMBOL)
    assert before.qty == Decimal("0.03") and before.fill_count >= 2
    # Crash: in-flight work abandoned, journal closed by the OS (we close the handle).
    rig.journal.close()

    again = make_rig(journal_path=journal_path, handle=rig.handle)
    await again.start()
    after = again.node.manager.positions.get("Idle", SYMBOL)
    assert (after.qty, after.entry_price, after.fees_paid, after.fill_count) == (
        before.qty,
        before.entry_price,
        before.fees_paid,
        before.fill_count,
    )
    restored = again.node.manager.tracker.get(rest)
    assert restored.state.value == "open"  # found resting on the exchange
    assert again.node.halts == {}  # positions agree with the exchange
    # One more fill after the restart is booked once, on top of the old ones.
    again.node.contexts["Idle"].submit(
        symbol=SYMBOL, side="sell", qty=Decimal("0.01"), order_type="mkt"
    )
    await again.node.manager.drain()
    await again.node.shutdown()
    again.journal.close()
    state = Journal(journal_path).restore()
    book = rebuild_positions(state)
    assert book.get("Idle", SYMBOL).qty == Decimal("0.02")
    exchange = {p.symbol: p.qty for p in rig.handle.exchange.positions("main")}
    assert exchange[SYMBOL] == Decimal("0.02")


async def test_secrets_never_reach_logs_journal_alerts_or_dashboard(tmp_path: Path, caplog) -> None:
    import logging

    from rich.console import Console

    from krakenfutures.cli.dashboard import render, summary
    from krakenfutures.runtime.alert_sinks import AlertRouter, TelegramSink, telegram_token
    from krakenfutures.testing.fake_telegram import FAKE_BOT_TOKEN, FakeTelegram

    caplog.set_level(logging.DEBUG)
    async with FakeTelegram() as telegram:
        sink = TelegramSink(telegram_token(FAKE_BOT_TOKEN), "42", base_url=telegram.base_url)
        router = AlertRouter([sink], redact=(TEST_SECRET,))
        rig = make_rig(journal_path=tmp_path / "j.sqlite", alerts=router, market=True)
        node = rig.node
        router.start()
        await rig.start()
        ctx = node.contexts["Idle"]
        mark = node.mark(SYMBOL)
        assert mark is not None
        ctx.submit(
            symbol=SYMBOL, side="buy", qty=Decimal(500), limit_price=mark.to_integral_value()
        )
        ctx.submit(symbol=SYMBOL, side="buy", qty=Decimal("0.01"), order_type="mkt")
        ctx.alert("strategy text mentioning nothing secret")
        await node.manager.drain()
        rig.handle.ctl(cmd="state", symbol=SYMBOL, state="suspended")
        await rig.refresh_tickers()
        await rig.poll_states()
        console = Console(record=True, width=160, file=io.StringIO())
        console.print(render(node, title="t", started=0.0))
        screen = console.export_text()
        text_summary = str(summary(node, started=0.0))
        await node.shutdown()
        await router.aclose(timeout_s=5)
        rig.journal.close()
        delivered = "\n".join(telegram.all_texts())
    assert "halted" in delivered and "suspended" in delivered  # alerts really went out
    journal_bytes = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    secret_forms = {TEST_SECRET, TEST_SECRET[:24]}
    for form in secret_forms:
        assert form not in caplog.text
        assert form.encode() not in journal_bytes
        assert form not in delivered
        assert form not in screen
        assert form not in text_summary
    assert FAKE_BOT_TOKEN not in caplog.text and FAKE_BOT_TOKEN not in screen
    assert "PF_XBTUSD" in screen and "halts" in screen


async def test_alerts_go_out_while_the_bot_runs_and_each_state_transition_is_told(
    tmp_path: Path,
) -> None:
    import asyncio

    from krakenfutures.runtime.alert_sinks import AlertRouter, TelegramSink, telegram_token
    from krakenfutures.testing.fake_telegram import FAKE_BOT_TOKEN, FakeTelegram

    async with FakeTelegram() as telegram:
        sink = TelegramSink(telegram_token(FAKE_BOT_TOKEN), "42", base_url=telegram.base_url)
        router = AlertRouter([sink])
        rig = make_rig(journal_path=tmp_path / "j.sqlite", alerts=router)
        await rig.start()  # no router.start(): the node starts its alerts itself
        for state in ("maintenance", "open", "maintenance", "open"):
            rig.handle.ctl(cmd="state", symbol=SYMBOL, state=state)
            await rig.refresh_tickers()
            await rig.poll_states()
        for _ in range(200):  # delivered while running, not at shutdown's flush
            texts = telegram.all_texts()
            if sum("now open (was maintenance)" in t for t in texts) >= 1:
                break
            await asyncio.sleep(0.01)
        texts = telegram.all_texts()
        assert any("now maintenance" in t for t in texts)
        assert any("now open (was maintenance)" in t for t in texts)  # not throttled away
        await rig.node.shutdown()
        await router.aclose(timeout_s=5)
        rig.journal.close()
