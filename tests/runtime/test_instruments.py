"""Order rules from the uws ``instrument`` channel: the pure mapping, the simulator's snapshot
over real loopback (equal to legacy REST ``/instruments``), and the switch-off fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for
from krakenfutures.core.uws.schema_channels import InstrumentPair
from krakenfutures.errors import ExchangeError, NotFoundError, UnavailableError
from krakenfutures.runtime.context import Instrument
from krakenfutures.runtime.instruments import (
    instruments_from_pairs,
    instruments_from_rest,
    instruments_from_uws,
    load_instruments,
)
from krakenfutures.testing import SimHandle, loopback_client

D = Decimal


def test_pairs_map_to_rules_with_the_documented_fallbacks() -> None:
    pairs = [
        InstrumentPair(
            symbol="PF_XBTUSD",
            price_increment=D("0.5"),
            qty_increment=D("0.0001"),
            qty_min=D("0.001"),
        ),
        InstrumentPair(symbol="PF_ETHUSD", tick_size=D("0.1"), qty_precision=3),  # fallbacks
        InstrumentPair(symbol="PF_XRPUSD", price_increment=D("0.0001")),  # no quantity step
        InstrumentPair(symbol="FI_XBTUSD_261225", qty_increment=D(1)),  # no price step
    ]
    assert instruments_from_pairs(pairs) == {
        "PF_XBTUSD": Instrument("PF_XBTUSD", D("0.5"), D("0.001"), D("0.0001")),
        "PF_ETHUSD": Instrument("PF_ETHUSD", D("0.1"), D("0.001"), D("0.001")),
    }


def public(sim: SimHandle) -> AsyncUwsConnection:
    return AsyncUwsConnection(uws_url_for(sim.base_url), stale_after_s=None)


async def test_the_simulator_snapshot_equals_legacy_rest_instruments(sim: SimHandle) -> None:
    from_rest = instruments_from_rest(loopback_client(sim).get_instruments())
    from_uws = await instruments_from_uws(public(sim), timeout_s=5.0)
    assert from_rest and from_uws == from_rest


async def test_gone_legacy_rest_falls_back_to_uws_and_outages_do_not(sim: SimHandle) -> None:
    expected = instruments_from_rest(loopback_client(sim).get_instruments())

    async def gone() -> object:
        raise NotFoundError("404 for /derivatives/api/v3/instruments", http_status=404)

    async def outage() -> object:
        raise UnavailableError("502 from the exchange", http_status=502)

    rules = await load_instruments(gone, lambda: public(sim), timeout_s=5)
    assert rules == expected
    with pytest.raises(UnavailableError):  # an outage is not the switch-off: no guessing
        await load_instruments(outage, lambda: public(sim))
    with pytest.raises(ExchangeError):  # the legacy dialect has no uws to fall back on
        await load_instruments(gone, None)
