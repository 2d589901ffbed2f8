"""A local exchange that speaks Kraken Futures' wire protocol.

Layers, bottom up:

* :mod:`~krakenfutures.sim.matching` - the integer price-time priority order book;
* :mod:`~krakenfutures.sim.instruments` - contract specs (tick/lot grids, margin ladders);
* :mod:`~krakenfutures.sim.engine` - :class:`~krakenfutures.sim.engine.Exchange`, the pure,
  deterministic exchange (orders, accounts, margin, fees, funding, triggers, liquidation),
  built from :mod:`~krakenfutures.sim.core`, :mod:`~krakenfutures.sim.orders`,
  :mod:`~krakenfutures.sim.accounts`, :mod:`~krakenfutures.sim.marketdata` and
  :mod:`~krakenfutures.sim.state`, returning :mod:`~krakenfutures.sim.domain` values;
* the REST/WS handlers and the loopback server, which translate wire <-> domain.
"""
