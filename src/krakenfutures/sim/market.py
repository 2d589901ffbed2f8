"""A synthetic market, so that a newcomer sees a living exchange: moving prices, a two-sided
book, trades and funding.

:class:`SyntheticMarket` drives an :class:`~krakenfutures.sim.engine.Exchange` once per clock
tick (``step(now_ms)``), in exchange time (``--speed 60`` makes an hour pass in a minute):

* **Index** - every ``index_update_ms`` each instrument's index takes a geometric Brownian motion
  step (volatility ``index_vol_per_sqrt_hour``: 0.01 = 1 % per sqrt hour), rounded to the tick
  and pushed with ``Exchange.set_index_price`` when the rounded value changed. If something else
  moved the index (``kf sim ctl index``), the walk continues from there.
* **Background liquidity** - the account :data:`MM_ACCOUNT` (``"_mm"``) quotes ``levels``
  post-only orders per side, ``level_step_bps`` apart, around a centre of
  ``index * (1 + premium - inventory skew)``. The ladder moves (a few cancels and sends in one
  ``batch``) only when the centre is ``requote_bps`` (or three standard deviations of one index
  step, whichever is more) away from it; levels are refilled when the market maker was filled
  on the symbol or every ``check_every_ms``. Otherwise a step does nothing for the ladder, which
  keeps it cheap at 20 ticks a second: about 0.3 ms per tick at ``--speed 1`` and 5-7 ms at
  ``--speed 60`` on the four default instruments (the engine's per-order margin check dominates).
* **Premium** - a mean-reverting (Ornstein-Uhlenbeck) premium in basis points shifts the quotes,
  so the impact mid, hence the mark, drifts from the index and funding is not zero.
* **Takers** - the account :data:`TAKER_ACCOUNT` (``"_taker"``) sends ``mkt`` (and a fraction of
  ``ioc``) orders of log-uniform USD notional at Poisson times (``taker_rate_per_min`` per
  instrument, in exchange time). Their side leans against the market maker's inventory, and the
  market maker skews its quotes the same way, so neither internal account drifts towards its
  position limit. Takers trade with user orders too.

Both internal accounts are opened on the first step with funding far beyond what they can lose,
so they are never liquidated. Their names start with ``_``, which user accounts may not (the
config refuses them); use :func:`is_internal_account` to hide them wherever accounts are listed.

Instruments in ``suspended``/``maintenance`` get neither quotes nor takers; ``post_only`` ones get
quotes only. Refusals of the internal orders are expected and ignored: the next change retries.

Orders, cancels and index changes go through the engine's public calls. Two reads and one write
reach into ``Exchange.state`` because the engine has no call for them: the current index price
(the ticker would compute 24 h statistics on every tick) and trimming the internal accounts'
records (fills, log, history, closed orders) to :data:`INTERNAL_RECORD_KEEP`, which no engine
rule reads; left to the engine's ``record_cap`` they would make up almost all of every snapshot.

Determinism: all randomness comes from the injected :class:`random.Random`; the same seed, the
same exchange state and the same sequence of ``step(now_ms)`` calls give the same orders, trades
and books. :meth:`SyntheticMarket.snapshot` / :meth:`SyntheticMarket.restore` carry the RNG, the
walk and the config, so a restored market continues exactly. The walk uses Python floats and
``math.exp``/``random.gauss``: reproducible on one platform (what restart and replay need), not
promised bit-for-bit across C libraries.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from krakenfutures.core.types import ContractKind, Side, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.market_config import MarketConfig

MM_ACCOUNT = "_mm"
"""The market maker's account: the background liquidity."""
TAKER_ACCOUNT = "_taker"
"""The random takers' account."""
INTERNAL_ACCOUNTS = frozenset({MM_ACCOUNT, TAKER_ACCOUNT})
"""Accounts the synthetic market trades from; never a user's."""
INTERNAL_FLEX = {"USD": Decimal(10) ** 9}
INTERNAL_MARGIN = {"fi_xbtusd": {"xbt": Decimal(10) ** 5}}
"""Funding of the internal accounts: orders of magnitude beyond anything they can lose."""

INTERNAL_RECORD_KEEP = 500
"""Fills, log rows, history events and closed orders kept per internal account."""

SNAPSHOT_FORMAT = "krakenfutures.sim.market/1"
HOUR_MS = 3_600_000
ZERO = Decimal(0)
_QUIET = {TradingState.SUSPENDED, TradingState.MAINTENANCE, TradingState.UNKNOWN}


def is_internal_account(name: str) -> bool:
    """Whether ``name`` is reserved for the simulator itself (it starts with ``_``)."""
    return name.startswith("_")


@dataclass
class _Track:
    """Per-instrument state of the synthetic market (everything a restore needs)."""

    symbol: str
    index: float  # the walk, unrounded
    index_ticks: int  # what we last pushed to the exchange
    premium_bps: float = 0.0
    next_taker_ms: int = 0
    ladder: list[int] = field(default_factory=list)  # quoted [top bid, top ask, step], ticks
    orders: dict[str, list[int]] = field(default_factory=dict)  # id -> [side +1/-1, ticks, level]
    position: str = "0"  # market maker's position when its orders were last looked at
    next_check_ms: int = 0


class SyntheticMarket:
    """Index walk, market-maker ladder and random takers on top of an :class:`Exchange`.

    ``step(now_ms)`` is the only mutating call; it does not replace ``Exchange.advance`` (call
    both on every tick). Constructing the market changes nothing on the exchange.
    """

    def __init__(self, exchange: Exchange, config: MarketConfig, rng: random.Random) -> None:
        self.exchange = exchange
        self.config = config
        self.rng = rng
        self.last_ms: int | None = None
        self.walked_ms = 0  # when the index walk last moved
        self.walk_dt_ms = 0  # the length of that move
        self.tracks: dict[str, _Track] = {}

    # ------------------------------------------------------------------------------ stepping

    def step(self, now_ms: int) -> None:
        """Advance the market to ``now_ms`` (exchange epoch ms): index, quotes, takers."""
        cfg = self.config
        if not cfg.enabled:
            return
        ex = self.exchange
        first = self.last_ms is None
        if self.last_ms is None:
            self._start(now_ms)
            self.last_ms = self.walked_ms = now_ms
        dt_ms = now_ms - self.last_ms
        if dt_ms <= 0 and not first:
            return
        self.last_ms = now_ms
        walk_ms = now_ms - self.walked_ms
        walking = walk_ms >= cfg.index_update_ms
        if walking:
            self.walked_ms = now_ms
            self.walk_dt_ms = walk_ms
        positions = {
            p.symbol: p.qty if p.side == "long" else -p.qty for p in ex.positions(MM_ACCOUNT)
        }
        for track in self.tracks.values():
            spec = ex.instrument(track.symbol)
            if walking:
                self._walk(track, spec, walk_ms / HOUR_MS, now_ms)
            state = ex.trading_state(track.symbol)
            if state in _QUIET:
                continue
            qty = positions.get(track.symbol, ZERO)
            lean = _clamp(_usd(spec, float(qty), track.index) / float(cfg.inventory_limit_usd))
            self._quote(track, spec, lean, str(qty), now_ms)
            if state is not TradingState.POST_ONLY:
                self._takers(track, spec, lean, now_ms)
        self._prune()

    def _start(self, now_ms: int) -> None:
        """First step: open the internal accounts and start a walk per instrument."""
        ex = self.exchange
        names = ex.account_names()
        for name in (MM_ACCOUNT, TAKER_ACCOUNT):
            if name not in names:
                ex.open_account(name, flex=INTERNAL_FLEX, margin=INTERNAL_MARGIN)
        wanted = set(self.config.symbols)
        for spec in ex.instruments():
            if wanted and spec.symbol not in wanted:
                continue
            index = ex.state.markets[spec.symbol].index_price
            ticks = max(1, spec.floor_ticks(index))
            self.tracks[spec.symbol] = _Track(
                spec.symbol, float(index), ticks, next_taker_ms=now_ms + self._gap_ms()
            )

    def _walk(self, track: _Track, spec: InstrumentSpec, dt_h: float, now_ms: int) -> None:
        """Move the index (GBM) and the premium (OU) by ``dt_h`` hours."""
        cfg, rng = self.config, self.rng
        tick = float(spec.tick_size)
        current = self.exchange.state.markets[track.symbol].index_price
        if spec.check_price(current) != track.index_ticks:
            track.index = float(current)  # moved by someone else (admin): follow it
        vol = float(cfg.index_vol_per_sqrt_hour)
        track.index *= math.exp(-0.5 * vol * vol * dt_h + vol * math.sqrt(dt_h) * rng.gauss())
        track.index = max(track.index, tick)
        theta = float(cfg.premium_reversion_per_hour)
        eta = float(cfg.premium_vol_bps_per_sqrt_hour)
        decay = math.exp(-theta * dt_h)
        spread = math.sqrt((1 - decay * decay) / (2 * theta)) if theta > 0 else math.sqrt(dt_h)
        bound = float(cfg.max_premium_bps)
        premium = track.premium_bps * decay + eta * spread * rng.gauss()
        track.premium_bps = max(-bound, min(bound, premium))
        ticks = max(1, round(track.index / tick))
        if ticks != track.index_ticks:
            track.index_ticks = ticks
            self.exchange.set_index_price(track.symbol, spec.ticks_to_price(ticks), now_ms)

    # ------------------------------------------------------------------------------- quoting

    def _quote(
        self, track: _Track, spec: InstrumentSpec, lean: float, position: str, now_ms: int
    ) -> None:
        """Keep the market maker's ladder around the centre. Work is done only when the centre
        moved ``requote_bps`` away from the quoted ladder (shift it), or the market maker was
        filled on this symbol, or ``check_every_ms`` passed (look at its orders, refill)."""
        cfg = self.config
        centre = (
            track.index
            * (1 + (track.premium_bps - lean * float(cfg.inventory_skew_bps)) / 10_000)
            / float(spec.tick_size)
        )  # in ticks
        step = max(1, round(centre * float(cfg.level_step_bps) / 10_000))
        ladder = track.ladder
        # Hysteresis: at least requote_bps, and 3 sigma of one walk move, so that a fast clock
        # (--speed 60) shifts the ladder by several levels now and then instead of every tick.
        move_bps = 3e4 * float(cfg.index_vol_per_sqrt_hour) * math.sqrt(self.walk_dt_ms / HOUR_MS)
        shift = (
            not ladder
            or ladder[2] != step
            or abs(centre - (ladder[0] + ladder[1]) / 2)
            >= max(step, centre * max(float(cfg.requote_bps), move_bps) / 10_000)
        )
        check = position != track.position or now_ms >= track.next_check_ms
        if not shift and not check:
            return
        if shift:
            half = max(0.5, centre * float(cfg.half_spread_bps) / 10_000)
            top_bid = max(step, math.floor((centre - half) / step) * step)
            top_ask = max(top_bid + step, math.ceil((centre + half) / step) * step)
            track.ladder = ladder = [top_bid, top_ask, step]
        want: dict[tuple[int, int], int] = {}  # (side sign, ticks) -> level
        for i in range(self._levels()):
            if ladder[0] - i * step > 0:
                want[(1, ladder[0] - i * step)] = i
            want[(-1, ladder[1] + i * step)] = i
        base_lots = max(1.0, _lots(spec, float(cfg.level_notional_usd), track.index))
        growth = float(cfg.level_growth)
        remaining: dict[str, int] | None = None
        if check:
            track.position = position
            track.next_check_ms = now_ms + cfg.check_every_ms
            remaining = {
                s.order.order_id: spec.floor_lots(s.order.remaining)
                for s in self.exchange.order_status(MM_ACCOUNT, order_ids=list(track.orders))
                if s.status == "ENTERED_BOOK"
            }
            for order_id in [o for o in track.orders if o not in remaining]:
                del track.orders[order_id]
        cancels: list[str] = []
        kept: set[tuple[int, int]] = set()
        for order_id, (sign, price_ticks, _) in track.orders.items():
            key = (sign, price_ticks)
            level = want.get(key)
            thin = (
                remaining is not None
                and level is not None
                and remaining[order_id]
                < float(cfg.refill_fraction) * base_lots * (1 + level * growth)
            )
            if level is None or key in kept or thin:
                cancels.append(order_id)
            else:
                kept.add(key)
        sends = [
            (sign, price_ticks, level)
            for (sign, price_ticks), level in want.items()
            if (sign, price_ticks) not in kept
        ]
        if cancels or sends:
            self._send_ladder(track, spec, cancels, sends, base_lots, now_ms)

    def _send_ladder(
        self,
        track: _Track,
        spec: InstrumentSpec,
        cancels: list[str],
        sends: list[tuple[int, int, int]],
        base_lots: float,
        now_ms: int,
    ) -> None:
        """One batch: cancels first (the ladder never trades with itself), then post orders."""
        cfg = self.config
        growth, jitter = float(cfg.level_growth), float(cfg.size_jitter)
        batch: list[d.BatchInstruction] = [d.CancelInstruction(order_id=o) for o in cancels]
        for sign, price_ticks, level in sends:
            full = base_lots * (1 + level * growth)
            lots = max(1, int(full * self.rng.uniform(1 - jitter, 1 + jitter)))
            batch.append(
                d.SendInstruction(
                    order_tag=str(level),
                    symbol=track.symbol,
                    side=Side.BUY if sign > 0 else Side.SELL,
                    order_type="post",
                    qty=spec.lots_to_qty(lots),
                    limit_price=spec.ticks_to_price(price_ticks),
                )
            )
        results = self.exchange.batch(MM_ACCOUNT, batch, now_ms=now_ms)
        for order_id in cancels:
            del track.orders[order_id]
        for (sign, price_ticks, level), item in zip(sends, results[len(cancels) :], strict=True):
            rested = any(isinstance(e, d.Placed) for e in item.result.events)
            if rested and item.result.order_id is not None:
                track.orders[item.result.order_id] = [sign, price_ticks, level]

    def _levels(self) -> int:
        """Levels per side, capped so every ladder fits the exchange's open-order limit."""
        room = self.exchange.config.max_open_orders // max(1, 2 * len(self.tracks))
        return max(1, min(self.config.levels, room))

    def _prune(self) -> None:
        """Drop all but the newest :data:`INTERNAL_RECORD_KEEP` fills, log rows, history events
        and closed orders of the internal accounts. Nobody reads them, and left at the engine's
        ``record_cap`` they would be most of every snapshot (~100 MB after a busy hour). The
        engine has no public call for this, so it trims the lists in place; it only touches
        records, which no engine rule reads."""
        keep = INTERNAL_RECORD_KEEP
        for name in (MM_ACCOUNT, TAKER_ACCOUNT):
            acct = self.exchange.state.accounts[name]
            for records in (acct.fills, acct.log, acct.history):
                if len(records) > 2 * keep:
                    del records[:-keep]
            for closed in (acct.closed, acct.closed_cli):
                if len(closed) > 2 * keep:
                    for key in list(closed)[:-keep]:
                        del closed[key]

    # -------------------------------------------------------------------------------- takers

    def _gap_ms(self) -> int:
        """Exchange ms to the next taker on one instrument (exponential)."""
        rate = self.config.taker_rate_per_min
        if rate <= 0:
            return 2**62
        return max(1, int(self.rng.expovariate(rate / 60_000)))

    def _takers(self, track: _Track, spec: InstrumentSpec, lean: float, now_ms: int) -> None:
        """Fire the takers due by ``now_ms``; their side leans towards reducing the market
        maker's inventory."""
        cfg, rng = self.config, self.rng
        fired = 0
        while track.next_taker_ms <= now_ms:
            if fired >= cfg.max_takers_per_step:
                track.next_taker_ms = now_ms + self._gap_ms()  # skip a backlog after a pause
                break
            fired += 1
            track.next_taker_ms += self._gap_ms()
            side = Side.BUY if rng.random() < 0.5 + 0.4 * lean else Side.SELL
            low = math.log(float(cfg.taker_min_notional_usd))
            high = math.log(float(cfg.taker_max_notional_usd))
            notional = math.exp(rng.uniform(low, high))
            qty = spec.lots_to_qty(max(1, int(_lots(spec, notional, track.index))))
            limit_price = None
            order_type = "mkt"
            if rng.random() < cfg.taker_ioc_fraction:
                sign = 1 if side is Side.BUY else -1
                limit = (
                    track.index
                    * (1 + sign * float(cfg.taker_ioc_band_bps) / 10_000)
                    / float(spec.tick_size)
                )
                ticks = math.ceil(limit) if side is Side.BUY else math.floor(limit)
                order_type, limit_price = "ioc", spec.ticks_to_price(max(1, ticks))
            self.exchange.send_order(
                TAKER_ACCOUNT,
                symbol=track.symbol,
                side=side,
                order_type=order_type,
                qty=qty,
                limit_price=limit_price,
                now_ms=now_ms,
            )

    # --------------------------------------------------------------------------- persistence

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to continue exactly: config, RNG, clock and per-instrument walk
        (JSON-able; floats round-trip exactly through JSON)."""
        version, internal, gauss = self.rng.getstate()
        return {
            "format": SNAPSHOT_FORMAT,
            "config": self.config.to_dict(),
            "rng": [version, list(internal), gauss],
            "last_ms": self.last_ms,
            "walked_ms": self.walked_ms,
            "walk_dt_ms": self.walk_dt_ms,
            "tracks": [asdict(t) for t in self.tracks.values()],
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Continue from :meth:`snapshot` output (the exchange must be restored from the same
        moment). The snapshot's config replaces the current one, so a journal replays under
        the settings it was recorded with; assign :attr:`config` afterwards to change them."""
        if data.get("format") != SNAPSHOT_FORMAT:
            raise ConfigError(
                f"not a synthetic-market snapshot (format {data.get('format')!r}, expected {SNAPSHOT_FORMAT})"
            )
        self.config = MarketConfig.from_dict(data["config"], "market snapshot")
        version, internal, gauss = data["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self.last_ms = data["last_ms"]
        self.walked_ms = data["walked_ms"]
        self.walk_dt_ms = data["walk_dt_ms"]
        self.tracks = {row["symbol"]: _Track(**row) for row in data["tracks"]}


def _lots(spec: InstrumentSpec, notional_usd: float, price: float) -> float:
    """Lots (unrounded) worth ``notional_usd`` at ``price``."""
    qty = notional_usd if spec.kind is ContractKind.INVERSE else notional_usd / price
    return qty / float(spec.lot_size)


def _usd(spec: InstrumentSpec, qty: float, price: float) -> float:
    """Signed USD notional of ``qty`` at ``price``."""
    return qty if spec.kind is ContractKind.INVERSE else qty * price


def _clamp(x: float) -> float:
    return max(-1.0, min(1.0, x))


__all__ = [
    "INTERNAL_ACCOUNTS",
    "MM_ACCOUNT",
    "SNAPSHOT_FORMAT",
    "TAKER_ACCOUNT",
    "MarketConfig",
    "SyntheticMarket",
    "is_internal_account",
]
