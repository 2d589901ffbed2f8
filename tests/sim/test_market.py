"""The synthetic market: a living, reproducible exchange (index walk, ladder, takers, funding)."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from krakenfutures.core.types import Side, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.market import (
    INTERNAL_ACCOUNTS,
    MM_ACCOUNT,
    TAKER_ACCOUNT,
    MarketConfig,
    SyntheticMarket,
    is_internal_account,
)

HOUR = 3_600_000
T0 = 491_000 * HOUR + 20 * 60_000  # 2026-01-05 08:20 UTC, mid-hour


def make(seed: int = 7, config: MarketConfig | None = None) -> tuple[Exchange, SyntheticMarket]:
    ex = Exchange(rng=random.Random(seed), now_ms=T0)
    return ex, SyntheticMarket(ex, config or MarketConfig(), random.Random(seed + 1))


def run(ex: Exchange, market: SyntheticMarket, steps: int, dt_ms: int, start: int = T0) -> int:
    now = start
    for _ in range(steps):
        now += dt_ms
        market.step(now)
        ex.advance(now)
    return now


TWO = MarketConfig(symbols=("PF_XBTUSD", "PI_XBTUSD"))


def test_same_seed_same_market_different_seed_different_market() -> None:
    a, ma = make(3, TWO)
    b, mb = make(3, TWO)
    c, mc = make(4, TWO)
    for ex, m in ((a, ma), (b, mb), (c, mc)):
        run(ex, m, 120, 1_000)
    assert a.snapshot() == b.snapshot()
    assert ma.snapshot() == mb.snapshot()
    for symbol in ("PF_XBTUSD", "PI_XBTUSD"):
        assert a.recent_trades(symbol) == b.recent_trades(symbol)
        assert a.book(symbol) == b.book(symbol)
    assert a.recent_trades("PF_XBTUSD") != c.recent_trades("PF_XBTUSD")


def test_constructing_a_market_changes_nothing() -> None:
    ex = Exchange(rng=random.Random(1), now_ms=T0)
    before = ex.snapshot()
    SyntheticMarket(ex, MarketConfig(), random.Random(2))
    assert ex.snapshot() == before
    assert ex.account_names() == []


def test_two_sided_book_around_the_index_after_a_few_steps() -> None:
    ex, market = make()
    run(ex, market, 5, 500)
    levels = market.config.levels
    for spec in ex.instruments():
        book = ex.book(spec.symbol)
        index = ex.ticker(spec.symbol).index_price
        assert len(book.bids) >= levels - 1 and len(book.asks) >= levels - 1, spec.symbol
        best_bid, best_ask = book.bids[0][0], book.asks[0][0]
        assert best_bid < best_ask
        # Within the premium bound plus a few levels of the index.
        band = index * Decimal("0.006")
        assert index - band < best_bid and best_ask < index + band, spec.symbol
        assert all(qty > 0 for _, qty in book.bids + book.asks)


def test_trades_index_moves_and_internal_accounts_are_named() -> None:
    ex, market = make()
    start_index = ex.ticker("PF_XBTUSD").index_price
    run(ex, market, 120, 5_000)  # ten exchange minutes
    assert set(INTERNAL_ACCOUNTS) <= set(ex.account_names())
    assert all(is_internal_account(a) for a in INTERNAL_ACCOUNTS)
    assert not is_internal_account("main")
    for spec in ex.instruments():
        trades = ex.recent_trades(spec.symbol)
        assert len(trades) > 20, spec.symbol
        assert {t.side for t in trades} == {Side.BUY, Side.SELL}
    assert ex.ticker("PF_XBTUSD").index_price != start_index
    ticker = ex.ticker("PF_XBTUSD")
    assert ticker.vol24h > 0 and ticker.open_interest > 0


def test_funding_becomes_non_zero_over_simulated_hours() -> None:
    ex, market = make(11, MarketConfig(symbols=("PF_ETHUSD",), taker_rate_per_min=4.0))
    run(ex, market, 3 * 360, 10_000)  # three hours in 10 s steps
    history = ex.funding_history("PF_ETHUSD")
    assert len(history) == 3
    assert any(record.relative != 0 for record in history)
    ticker = ex.ticker("PF_ETHUSD")
    assert ticker.mark_price != ticker.index_price
    assert ticker.relative_funding_rate_prediction not in (None, Decimal(0))
    # Only the configured symbol is traded.
    assert ex.recent_trades("PF_XBTUSD") == []


def test_long_seeded_run_with_a_user_keeps_every_invariant() -> None:
    ex, market = make(5, TWO)
    ex.open_account("user")
    rng = random.Random(99)
    now = T0
    for i in range(300):
        now += 2_000
        market.step(now)
        ex.advance(now)
        if i % 4 == 0:
            symbol = rng.choice(("PF_XBTUSD", "PI_XBTUSD"))
            spec = ex.instrument(symbol)
            mark = ex.ticker(symbol).mark_price
            ticks = spec.floor_ticks(mark) + rng.randint(-20, 20)
            kind = rng.choice(("lmt", "post", "mkt", "ioc"))
            ex.send_order(
                "user",
                symbol=symbol,
                side=rng.choice((Side.BUY, Side.SELL)),
                order_type=kind,
                qty=spec.lots_to_qty(rng.randint(1, 50) * (1 if symbol == "PI_XBTUSD" else 10)),
                limit_price=None if kind == "mkt" else spec.ticks_to_price(ticks),
                now_ms=now,
            )
        if i % 50 == 0:
            assert ex.check_invariants() == []
    assert ex.check_invariants() == []
    assert ex.fills("user"), "the synthetic flow trades with user orders"
    for name in INTERNAL_ACCOUNTS:
        assert ex.state.accounts[name].liquidations == 0
    # Records of the internal accounts stay bounded, so snapshots stay small.
    assert len(ex.account_log(MM_ACCOUNT)) <= 1_000


@pytest.mark.slow
def test_soak_four_hours_at_speed_sixty() -> None:
    ex, market = make(21)
    now = T0
    for i in range(4 * 1_200):  # 50 ms ticks at speed 60 = 3 s of exchange time
        now += 3_000
        market.step(now)
        ex.advance(now)
        if i % 2_000 == 0:
            assert ex.check_invariants() == []
    assert ex.check_invariants() == []
    for name in INTERNAL_ACCOUNTS:
        assert ex.state.accounts[name].liquidations == 0
    limit = market.config.inventory_limit_usd
    for pos in ex.positions(MM_ACCOUNT):
        usd = pos.qty if pos.symbol.startswith("PI_") else pos.qty * pos.mark_price
        assert usd < 3 * limit, pos
    assert len(ex.funding_history("PF_XBTUSD")) == 4


def test_snapshot_restore_continues_exactly() -> None:
    ex, market = make(8, TWO)
    now = run(ex, market, 60, 1_500)
    saved = json.loads(json.dumps({"exchange": ex.snapshot(), "market": market.snapshot()}))
    run(ex, market, 60, 1_500, start=now)

    ex2 = Exchange.restore(saved["exchange"])
    market2 = SyntheticMarket(ex2, MarketConfig(levels=3), random.Random(12345))
    market2.restore(saved["market"])
    assert market2.config == TWO  # the recorded config wins
    run(ex2, market2, 60, 1_500, start=now)
    assert ex2.snapshot() == ex.snapshot()
    assert market2.snapshot() == market.snapshot()


def test_restore_refuses_foreign_data() -> None:
    _, market = make()
    with pytest.raises(ConfigError, match="synthetic-market snapshot"):
        market.restore({"format": "something else"})


def test_disabled_market_does_nothing() -> None:
    ex, market = make(config=MarketConfig(enabled=False))
    before = ex.snapshot()
    market.step(T0 + 1_000)
    assert ex.snapshot() == before


def test_suspended_instruments_get_no_flow_and_post_only_no_takers() -> None:
    ex, market = make(config=MarketConfig(symbols=("PF_XBTUSD", "PF_SOLUSD")))
    ex.set_trading_state("PF_XBTUSD", TradingState.SUSPENDED, T0)
    ex.set_trading_state("PF_SOLUSD", TradingState.POST_ONLY, T0)
    run(ex, market, 60, 5_000)
    assert ex.book("PF_XBTUSD").bids == () and ex.recent_trades("PF_XBTUSD") == []
    assert ex.book("PF_SOLUSD").bids and ex.book("PF_SOLUSD").asks
    assert ex.recent_trades("PF_SOLUSD") == []
    assert ex.check_invariants() == []


def test_the_walk_follows_an_index_set_by_someone_else() -> None:
    ex, market = make(config=MarketConfig(symbols=("PF_ETHUSD",)))
    now = run(ex, market, 10, 1_000)
    ex.set_index_price("PF_ETHUSD", Decimal(4000), now)
    run(ex, market, 30, 1_000, start=now)
    index = ex.ticker("PF_ETHUSD").index_price
    assert Decimal(3900) < index < Decimal(4100)
    best_bid = ex.book("PF_ETHUSD").bids[0][0]
    assert Decimal(3900) < best_bid < Decimal(4100)


def test_ladder_respects_the_open_order_limit() -> None:
    from krakenfutures.sim.state import ExchangeConfig

    ex = Exchange(ExchangeConfig(max_open_orders=20), rng=random.Random(1), now_ms=T0)
    market = SyntheticMarket(ex, MarketConfig(), random.Random(2))
    run(ex, market, 3, 1_000)
    assert 0 < len(ex.open_orders(MM_ACCOUNT)) <= 20
    assert ex.open_orders(TAKER_ACCOUNT) == []


def test_market_config_round_trip_and_errors() -> None:
    cfg = MarketConfig(symbols=("PF_XBTUSD",), levels=4, taker_rate_per_min=2.5)
    assert MarketConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert MarketConfig.from_dict({"symbols": ["pf_xbtusd"]}).symbols == ("PF_XBTUSD",)
    with pytest.raises(ConfigError, match=r"\[market\]: unknown key 'level'.*valid keys: enabled"):
        MarketConfig.from_dict({"level": 3})
    with pytest.raises(ConfigError, match="levels: expected an integer"):
        MarketConfig.from_dict({"levels": "3"})
    with pytest.raises(ConfigError, match="enabled: expected true or false"):
        MarketConfig.from_dict({"enabled": 1})
    with pytest.raises(ConfigError, match="taker_min_notional_usd"):
        MarketConfig(taker_min_notional_usd=Decimal(10), taker_max_notional_usd=Decimal(1))
    with pytest.raises(ConfigError, match=">= 0"):
        MarketConfig(index_vol_per_sqrt_hour=Decimal("-0.1"))
