"""Eager tasks: run a coroutine's first step now, inside its own task, the rest on the loop.

Why
    An order's request is built, signed and handed to the socket by a coroutine. Started with
    ``create_task`` it waits for the next event-loop iteration: 15-20 µs of decision-to-wire
    latency spent queueing behind whatever else is ready. Started eagerly, the bytes leave
    inside the strategy's ``submit`` call and only the wait for the reply is left to the loop.

How
    Python 3.12 has this built in (``asyncio.Task(..., eager_start=True)``). On 3.11 the same is
    done by hand: a task is created around a small driver, made the *current* task while the
    coroutine's first step runs (so anything in it that binds to ``asyncio.current_task()``,
    such as aiohttp's timeouts or ``asyncio.timeout``, binds to the right task), and the driver
    then resumes the coroutine from wherever it suspended, forwarding results, exceptions and
    cancellation exactly as a task would.

Caller's contract
    The first step runs on the caller's stack. A coroutine that would call back into the
    caller's code (a strategy hook) must first leave that stack: :func:`in_eager_step` tells it
    that it is still there, and ``await asyncio.sleep(0)`` leaves.
"""

from __future__ import annotations

import asyncio
import sys
import types
from asyncio import tasks as _tasks
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

_T = TypeVar("_T")
_state = {"depth": 0}


def in_eager_step() -> bool:
    """Whether the code calling this runs in an eager task's first step (the caller's stack)."""
    return _state["depth"] > 0


class _First:
    """What the first step left: the awaitable it suspended on, or its outcome."""

    __slots__ = ("driven", "error", "finished", "result", "yielded")

    def __init__(self) -> None:
        self.yielded: Any = None
        self.driven = False  # the driver took over (else a cancel came before its first step)
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None


@types.coroutine
def _bare_yield() -> Generator[None, None, None]:
    yield  # what ``asyncio.sleep(0)`` does: give the loop one turn


async def _drive(coro: Coroutine[Any, Any, _T], first: _First) -> _T:
    """Resume ``coro`` after its eager first step, as a task's ``__step`` would."""
    first.driven = True
    if first.finished:
        if first.error is not None:
            raise first.error
        return first.result  # type: ignore[no-any-return]
    yielded = first.yielded
    first.yielded = None
    while True:
        try:
            if yielded is None:
                await _bare_yield()
            else:
                # As a task does with a future its coroutine yields: clear the "blocking" mark
                # (set by the coroutine's own await) and wait for it, here by awaiting it.
                yielded._asyncio_future_blocking = False
                await yielded  # done (result or error), or cancelled with this task
        except BaseException as exc:  # forwarded into the coroutine, as a task does
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            yielded = coro.send(None)  # the coroutine reads the future's result itself
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def _start_311(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    first = _First()
    task = loop.create_task(_drive(coro, first))
    current = _tasks._current_tasks  # type: ignore[attr-defined]
    previous = current.get(loop)
    current[loop] = task
    _state["depth"] += 1
    try:
        first.yielded = coro.send(None)
    except StopIteration as stop:
        first.finished, first.result = True, stop.value
    except BaseException as exc:  # raised from the task, as create_task would
        first.finished, first.error = True, exc
    finally:
        _state["depth"] -= 1
        if previous is None:
            current.pop(loop, None)
        else:
            current[loop] = previous
    if not first.finished:
        task.add_done_callback(lambda done: _cancelled_early(done, coro, first))
    return task


def _cancelled_early(
    task: asyncio.Task[Any], coro: Coroutine[Any, Any, Any], first: _First
) -> None:
    """A task cancelled before its driver ran never resumed ``coro``: deliver the cancellation
    to the coroutine where it waits (its ``finally`` blocks run), as a task would have."""
    if first.driven or not task.cancelled():
        return
    try:
        coro.throw(asyncio.CancelledError())
    except BaseException:  # StopIteration, the CancelledError, or its own error: it is done
        return
    coro.close()  # it ignored the cancellation and waits again: nobody will resume it


def _start_312(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    _state["depth"] += 1
    try:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
    finally:
        _state["depth"] -= 1


_START = _start_312 if sys.version_info >= (3, 12) else _start_311


def start_eager(coro: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
    """Run ``coro`` up to its first suspension now and the rest as a task; returns the task
    (done already if the coroutine never suspended). Call from the event loop's thread."""
    return _START(asyncio.get_running_loop(), coro)


__all__ = ["in_eager_step", "start_eager"]
