"""Cost commands of `kf`: funding of perpetuals and the fee schedule (``kf funding``, ``kf fees``).

Computed values (relative rates, funding cost, inverse fees) come from
:mod:`krakenfutures.core.money`; the ones that involve a division are shown to
:data:`krakenfutures.cli.render.DERIVED_DIGITS` significant digits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import (
    NON_NEGATIVE_DECIMAL,
    POSITIVE_DECIMAL,
    DecimalType,
    fetch_instrument,
    json_option,
    ms_to_iso,
    now_ms,
    settlement_currency,
    state,
)

if TYPE_CHECKING:
    from krakenfutures.core.rest.schema_market import Ticker


def _ticker_price(ticker: Ticker) -> Decimal | None:
    for value in (ticker.mark_price, ticker.last, ticker.index_price):
        if value is not None and value > 0:
            return value
    return None


# ------------------------------------------------------------------------------------ funding


@click.command()
@json_option
@click.argument("symbol")
@click.option(
    "--size",
    "qty",
    type=DecimalType(),
    default=None,
    metavar="Q",
    help="Position to cost: contracts, positive long, negative short.",
)
@click.option(
    "--hours",
    type=NON_NEGATIVE_DECIMAL,
    default=Decimal(24),
    show_default=True,
    metavar="H",
    help="How long the position is held.",
)
@click.option(
    "--history",
    "history_len",
    type=click.IntRange(min=0),
    default=8,
    show_default=True,
    metavar="N",
    help="How many past funding periods to show.",
)
def funding(symbol: str, qty: Decimal | None, hours: Decimal, history_len: int) -> None:
    """Funding of perpetual SYMBOL: current and predicted rate, next funding time, history,
    and what holding --size contracts for --hours would cost.

    A positive rate means longs pay shorts. Kraken's REST rates are absolute (quote per contract
    per hour); the relative rate (fraction of notional per hour) is derived at the mark price.
    The cost assumes the current rate and mark price stay constant.
    """
    from krakenfutures.core.money import (
        FUNDING_INTERVAL_MS,
        funding_cost,
        next_funding_time_ms,
        relative_from_absolute,
    )
    from krakenfutures.core.types import contract_kind, is_perpetual, normalize_symbol

    inst = fetch_instrument(symbol)
    sym = inst.symbol
    if not is_perpetual(sym):
        raise click.BadParameter(
            f"{sym} is not a perpetual: only PF_/PI_ contracts pay funding", param_hint="SYMBOL"
        )
    client = state().client()
    ticker = next(
        (t for t in client.get_tickers() if normalize_symbol(t.symbol) == normalize_symbol(sym)),
        None,
    )
    history = client.get_historical_funding_rates(symbol=sym) if history_len else []
    now = now_ms()
    kind = contract_kind(sym)
    currency = settlement_currency(inst, sym)
    price = _ticker_price(ticker) if ticker is not None else None
    current = ticker.funding_rate if ticker is not None else None
    predicted = ticker.funding_rate_prediction if ticker is not None else None

    def relative(absolute: Decimal | None) -> Decimal | None:
        if absolute is None or price is None:
            return None
        return render.approx(relative_from_absolute(absolute, price, kind))

    next_ms = next_funding_time_ms(now)
    result: dict[str, Any] = {
        "symbol": sym,
        "contract_kind": kind,
        "mark_price": price,
        "funding_rate": current,
        "relative_funding_rate": relative(current),
        "funding_rate_prediction": predicted,
        "relative_funding_rate_prediction": relative(predicted),
        "max_relative_funding_rate": inst.max_relative_funding_rate,
        "next_funding_time": ms_to_iso(next_ms),
        "next_funding_time_ms": next_ms,
        "history": list(reversed(history))[:history_len],
        "cost": None,
    }
    if qty is not None:
        end = now + int(hours * FUNDING_INTERVAL_MS)
        cost: dict[str, Any] = {"qty": qty, "hours": hours, "currency": currency}
        for key, absolute in (("at_current_rate", current), ("at_predicted_rate", predicted)):
            rate = relative(absolute)
            cost[key] = (
                None
                if rate is None or price is None
                else render.approx(funding_cost(kind, qty, rate, price, start_ms=now, end_ms=end))
            )
        result["cost"] = cost
    if state().json:
        render.emit_json(result)
        return
    _print_funding(result, next_ms - now)


def _print_funding(result: dict[str, Any], wait_ms: int) -> None:
    minutes, seconds = divmod(max(wait_ms, 0) // 1000, 60)
    cap = result["max_relative_funding_rate"]
    render.pairs(
        f"Funding {result['symbol']} ({result['contract_kind']})",
        [
            ("mark price", result["mark_price"]),
            ("current rate (absolute)", result["funding_rate"]),
            ("current rate (relative/h)", render.pct(result["relative_funding_rate"])),
            ("predicted rate (absolute)", result["funding_rate_prediction"]),
            ("predicted rate (relative/h)", render.pct(result["relative_funding_rate_prediction"])),
            ("relative rate cap", f"±{render.pct(cap)}" if cap is not None else None),
            ("next funding", f"{result['next_funding_time']} (in {minutes}m {seconds:02d}s)"),
        ],
        caption="positive rate: longs pay shorts; relative rates derived at the mark price",
    )
    cost = result["cost"]
    if cost is not None:
        side = "long" if cost["qty"] > 0 else "short" if cost["qty"] < 0 else "flat"

        def says(value: Decimal | None) -> str:
            if value is None:
                return "unknown (no rate or price)"
            verb = "you pay" if value > 0 else "you receive" if value < 0 else "nothing"
            return f"{verb} {render.dec(abs(value))} {cost['currency']}" if value else verb

        render.pairs(
            f"Holding {render.dec(abs(cost['qty']))} {side} for {render.dec(cost['hours'])} h",
            [
                ("at the current rate", says(cost["at_current_rate"])),
                ("at the predicted rate", says(cost["at_predicted_rate"])),
            ],
            caption="assumes rate and mark price stay constant; one payment per hour boundary",
        )
    if result["history"]:
        render.table(
            "Recent funding (newest first)",
            ["time", ("rate (absolute)", "right"), ("relative/h", "right")],
            [
                (r.timestamp, r.funding_rate, render.pct(r.relative_funding_rate))
                for r in result["history"]
            ],
        )


# --------------------------------------------------------------------------------------- fees


def _volume_range(tiers: Any, index: int) -> str:
    lower = tiers[index].min_volume_usd
    upper = tiers[index + 1].min_volume_usd if index + 1 < len(tiers) else None
    low = f"{lower:,f}"
    if index == 0:
        return f"0 - {upper:,f}" if upper is not None else "0 +"
    return f"> {low} - {upper:,f}" if upper is not None else f"> {low}"


@click.command()
@json_option
@click.option(
    "--volume",
    type=NON_NEGATIVE_DECIMAL,
    default=Decimal(0),
    metavar="USD",
    help="Your 30-day trading volume in USD (picks the tier).",
)
@click.option("--qty", type=POSITIVE_DECIMAL, metavar="Q", help="Trade size in contracts.")
@click.option("--price", type=POSITIVE_DECIMAL, metavar="P", help="Trade price.")
@click.option(
    "--symbol",
    metavar="S",
    help="Contract (PF_/FF_ linear: fee in USD; PI_/FI_ inverse: fee in coin).",
)
@click.option("--maker", is_flag=True, help="Price the trade as maker (default: taker).")
def fees(
    volume: Decimal, qty: Decimal | None, price: Decimal | None, symbol: str | None, maker: bool
) -> None:
    """Kraken Futures' eight-tier fee schedule, your tier, and the fee of a trade.

    Works offline. Since 2026-06-22 Kraken charges fees from a central fee service; this is the
    published schedule (maker/taker by 30-day USD volume).
    """
    from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, fee_for_fill, notional_usd
    from krakenfutures.core.types import ContractKind, contract_kind, normalize_symbol

    if (qty is None) != (price is None):
        missing = "--price" if price is None else "--qty"
        raise click.UsageError(
            f"the fee of a trade needs both --qty and --price ({missing} missing)"
        )
    if symbol is not None and qty is None:
        raise click.UsageError("--symbol prices a trade: give --qty and --price too")
    schedule = DEFAULT_FEE_SCHEDULE
    tier = schedule.tier_for(volume)
    tier_index = schedule.tiers.index(tier)
    trade: dict[str, Any] | None = None
    if qty is not None and price is not None:
        sym = normalize_symbol(symbol) if symbol else None
        kind = contract_kind(sym) if sym else ContractKind.LINEAR
        fee = fee_for_fill(kind, qty, price, maker=maker, schedule=schedule, volume_30d_usd=volume)
        trade = {
            "symbol": sym,
            "contract_kind": kind,
            "qty": qty,
            "price": price,
            "liquidity": "maker" if maker else "taker",
            "rate": tier.maker if maker else tier.taker,
            "notional_usd": notional_usd(kind, qty, price),
            "fee": fee if kind is ContractKind.LINEAR else render.approx(fee),
            "currency": settlement_currency(None, sym) if sym else "USD",
        }
    if state().json:
        render.emit_json(
            {
                "schedule": schedule.name,
                "tiers": list(schedule.tiers),
                "volume_30d_usd": volume,
                "tier": tier_index + 1,
                "maker_rate": tier.maker,
                "taker_rate": tier.taker,
                "trade": trade,
            }
        )
        return
    render.table(
        f"Fee schedule ({schedule.name})",
        [
            ("tier", "right"),
            ("30-day volume (USD)", "right"),
            ("maker", "right"),
            ("taker", "right"),
            "",
        ],
        [
            (
                n + 1,
                _volume_range(schedule.tiers, n),
                render.pct(t.maker),
                render.pct(t.taker),
                "<- your tier" if n == tier_index else "",
            )
            for n, t in enumerate(schedule.tiers)
        ],
        caption=f"30-day volume {volume:,f} USD: tier {tier_index + 1}",
    )
    if trade is not None:
        contract = (
            f"{trade['symbol']} ({trade['contract_kind']})"
            if trade["symbol"]
            else "linear (assumed; pass --symbol PI_... for an inverse contract)"
        )
        render.pairs(
            "Trade",
            [
                ("contract", contract),
                ("size x price", f"{render.dec(qty)} x {render.dec(price)}"),
                ("notional", f"{render.dec(trade['notional_usd'])} USD"),
                ("rate", f"{render.pct(trade['rate'])} ({trade['liquidity']})"),
                ("fee", f"{render.dec(trade['fee'])} {trade['currency']}"),
            ],
        )


__all__ = ["fees", "funding"]
