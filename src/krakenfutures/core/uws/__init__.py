"""Unified WebSocket (uws, Spot-v2 message format for derivatives), sans-I/O.

* :mod:`~krakenfutures.core.uws.signing`: Spot REST ``API-Sign`` (used to obtain the uws token).
* :mod:`~krakenfutures.core.uws.assumptions`: every fact the reference leaves open, in one place.
* :mod:`~krakenfutures.core.uws.schema`: the envelope (requests, responses) and the order
  methods' params and results; :mod:`~krakenfutures.core.uws.schema_channels`: the channel data
  messages (``book``, ``ticker``, ``trade``, ``instrument``, ``status``, ``heartbeat``,
  ``executions``, ``balances``, ``positions``, ``ledgers``, ``margin``).
* :mod:`~krakenfutures.core.uws.classify`: raw frame -> typed message, never raising.
* :mod:`~krakenfutures.core.uws.checksum`: the v2 book CRC32 (reference §4.11);
  :mod:`~krakenfutures.core.uws.book`: :class:`~krakenfutures.core.uws.book.UwsBook`, the shared
  order book fed by ``book`` messages with the checksum verified after each.
* :mod:`~krakenfutures.core.uws.session`: :class:`~krakenfutures.core.uws.session.UwsSession`,
  the client protocol state (``receive`` / ``data_to_send`` / ``events``), and its events in
  :mod:`~krakenfutures.core.uws.events`.

Nothing is imported here, so importing one module does not load the others.
"""
