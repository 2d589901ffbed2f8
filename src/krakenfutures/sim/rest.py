"""The simulator's REST handlers: one per endpoint of :data:`~krakenfutures.core.rest.endpoints.ENDPOINTS`.

:func:`build_handlers` returns ``{endpoint name: handler}`` for
:class:`~krakenfutures.sim.gateway.Gateway`. A handler receives an authenticated, decoded
:class:`~krakenfutures.sim.gateway.Call` and returns the payload for the endpoint's ``key``
(an instance of its result struct, or a list of them; a mapping for key-less envelopes), or
raises :class:`~krakenfutures.sim.gateway.Refusal` with Kraken's error code. Handlers never
read ``Call.raw`` (journal replay passes none) and only POST/PUT handlers change state, so a
replayed journal reproduces the exchange.

Modules, by endpoint family:

* :mod:`~krakenfutures.sim.rest_market` - instruments, status, tickers, book, public trades,
  funding, fee schedules, charts;
* :mod:`~krakenfutures.sim.rest_account` - wallets, positions, preferences (:class:`RestExtras`),
  transfers, withdrawal, notifications, unwind queue, self-trade strategy, subaccounts;
* :mod:`~krakenfutures.sim.rest_orders` - open orders, fills, orders/status, order entry;
* :mod:`~krakenfutures.sim.rest_history` - history v2/v3 event streams, market history;
* :mod:`~krakenfutures.sim.rest_accountlog` - account log (JSON, CSV), position updates;
* :mod:`~krakenfutures.sim.rest_wire` - domain -> wire conversions and argument screens.

Every handler is wrapped by :func:`~krakenfutures.sim.rest_wire.guard`: an engine
``ValidationError`` (or arithmetic on a number no contract could use) becomes Kraken's
``invalidArgument`` answer, never a 500.
"""

from __future__ import annotations

from krakenfutures.core.rest.endpoints import ENDPOINTS
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Handler
from krakenfutures.sim.rest_account import RestExtras, account_handlers
from krakenfutures.sim.rest_history import history_handlers
from krakenfutures.sim.rest_market import market_handlers
from krakenfutures.sim.rest_orders import order_handlers
from krakenfutures.sim.rest_wire import guard


def build_handlers(exchange: Exchange, extras: RestExtras | None = None) -> dict[str, Handler]:
    """Handlers for every endpoint name in ``ENDPOINTS``, serving ``exchange``.

    ``extras`` holds the settings the engine does not model (leverage and PnL preferences);
    pass the same instance to persist it with :meth:`RestExtras.snapshot`.
    """
    extras = extras if extras is not None else RestExtras()
    handlers = {
        **market_handlers(exchange),
        **account_handlers(exchange, extras),
        **order_handlers(exchange),
        **history_handlers(exchange),
    }
    missing = [ep.name for ep in ENDPOINTS if ep.name not in handlers]
    if missing:  # a new endpoint in the table must get a handler here
        raise RuntimeError(f"simulator has no REST handler for {missing}")
    return {name: guard(fn) for name, fn in handlers.items()}


__all__ = ["RestExtras", "build_handlers"]
