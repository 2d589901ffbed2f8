"""Eager tasks: the first step runs in the caller's call, inside its own task; the rest behaves
exactly as a task would (results, errors, cancellation, timeouts)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from krakenfutures.oms.eager import in_eager_step, start_eager
from krakenfutures.testing.node import SYMBOL, make_rig


async def test_the_first_step_runs_before_start_returns_in_its_own_task() -> None:
    seen: list[object] = []
    caller = asyncio.current_task()

    async def job() -> str:
        seen.append(("first", asyncio.current_task(), in_eager_step()))
        await asyncio.sleep(0)
        seen.append(("rest", asyncio.current_task(), in_eager_step()))
        return "done"

    task = start_eager(job())
    assert seen == [("first", task, True)]  # ran now, and current_task() was its own task
    assert asyncio.current_task() is caller  # the caller's task is current again
    assert not in_eager_step()
    assert await task == "done"
    assert seen[1] == ("rest", task, False)


async def test_a_coroutine_that_never_suspends_is_done_at_once() -> None:
    async def quick() -> int:
        return 7

    task = start_eager(quick())
    assert task.done() or await task == 7
    assert await task == 7


async def test_errors_of_either_step_come_out_of_the_task() -> None:
    async def fails_first() -> None:
        raise ValueError("first")

    async def fails_later() -> None:
        await asyncio.sleep(0)
        raise KeyError("later")

    with pytest.raises(ValueError, match="first"):
        await start_eager(fails_first())
    with pytest.raises(KeyError, match="later"):
        await start_eager(fails_later())


async def test_futures_results_and_exceptions_reach_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    ok, bad = loop.create_future(), loop.create_future()

    async def waits() -> tuple[object, str]:
        value = await ok
        try:
            await bad
        except RuntimeError as exc:
            return value, str(exc)
        return value, "no error"

    task = start_eager(waits())
    loop.call_soon(ok.set_result, 41)
    loop.call_later(0.001, bad.set_exception, RuntimeError("boom"))
    assert await task == (41, "boom")


@pytest.mark.parametrize("let_it_start", [True, False])
async def test_a_cancel_reaches_the_coroutine_where_it_waits(let_it_start: bool) -> None:
    # let_it_start=False: cancelled before the loop ran the task's first step (the driver
    # never took over), which must still reach the coroutine.
    cleaned: list[str] = []
    forever = asyncio.get_running_loop().create_future()

    async def waits() -> None:
        try:
            await forever
        finally:
            cleaned.append("finally")

    task = start_eager(waits())
    if let_it_start:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["finally"]
    if let_it_start:
        assert forever.cancelled()


async def test_timeouts_bound_in_the_first_step_cancel_the_eager_task_not_the_caller() -> None:
    async def slow() -> str:
        try:
            async with asyncio.timeout(0.01):  # binds to current_task() in the first step
                await asyncio.sleep(5)
        except TimeoutError:
            return "timed out"
        return "no timeout"

    task = start_eager(slow())
    await asyncio.sleep(0.05)  # the caller keeps running past the deadline, not cancelled
    assert await task == "timed out"


async def test_eager_sends_leave_before_submit_returns_and_never_reenter_the_strategy() -> None:
    rig = make_rig()
    await rig.start()
    ctx = rig.node.contexts["Idle"]
    strategy = rig.node.strategies[0]
    inside = {"submit": False}
    reentered: list[object] = []
    original = strategy.on_order

    def on_order(update: object) -> None:
        if inside["submit"]:
            reentered.append(update)
        original(update)

    strategy.on_order = on_order  # type: ignore[method-assign]
    mark = rig.node.mark(SYMBOL)
    assert mark is not None
    price = (mark * Decimal("0.97")).to_integral_value()
    sent_before = len(rig.sent)
    inside["submit"] = True
    cli = ctx.submit(symbol=SYMBOL, side="buy", qty=Decimal("0.001"), limit_price=price)
    inside["submit"] = False
    assert isinstance(cli, str)
    # The in-memory simulator answered inside the call: the order rests on the exchange...
    assert [o.cli_ord_id for o in rig.exchange_open_orders()] == [cli]
    assert len(rig.sent) == sent_before + 1
    # ...but the reply's events wait for the next loop turn, outside the strategy's call.
    assert reentered == []
    await rig.node.manager.drain()
    assert [u.order.state.value for kind, u in strategy.seen if kind == "order"][-1] == "open"
    await rig.node.shutdown()
