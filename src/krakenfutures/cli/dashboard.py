"""The live terminal dashboard of ``kf run`` / ``make run`` and the end-of-run summary.

Everything shown comes from the running :class:`~krakenfutures.runtime.node.Node`: trading state
and book top per symbol, open orders, position, PnL split into trading (realised + unrealised),
fees and funding, and the latest alerts. Nothing here reads credentials, so nothing here can
show a secret.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from krakenfutures.core.timefmt import iso_ms

ZERO = Decimal(0)
_SHOWN = Decimal("1e-8")


def tidy(value: Decimal) -> Decimal:
    """``value`` to 8 decimal places without trailing zeros (display only: the books keep every
    digit; an average entry price is a quotient and may run to 28 digits)."""
    if value == 0:
        return ZERO
    shown = value.quantize(_SHOWN) if abs(value.as_tuple().exponent) > 8 else value  # type: ignore[arg-type]
    text = format(shown, "f")
    return Decimal(text.rstrip("0").rstrip(".") if "." in text else text)


def _fmt(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{places}f}"


def positions_rows(node: Any) -> list[dict[str, Any]]:
    """One row per (strategy, symbol) with the PnL split (exact Decimals)."""
    rows = []
    for p in node.manager.positions.positions():
        mark = node.mark(p.symbol)
        unrealized = p.unrealized_pnl(mark) if mark is not None and p.qty else ZERO
        rows.append(
            {
                "strategy": p.strategy or "(external)",
                "symbol": p.symbol,
                "qty": p.qty,
                "entry": p.entry_price,
                "mark": mark,
                "realized": p.realized_pnl,
                "unrealized": unrealized,
                "fees": p.fees_paid,
                "funding": p.funding_received - p.funding_paid,
                "net": p.realized_pnl
                + unrealized
                - p.fees_paid
                + p.funding_received
                - p.funding_paid,
                "fills": p.fill_count,
                "currency": p.currency,
            }
        )
    return rows


def render(node: Any, *, title: str, started: float) -> Any:
    """A rich renderable of the node's state right now."""
    from rich.console import Group
    from rich.table import Table

    markets = Table(title=title, expand=True)
    for col in (
        "symbol",
        "state",
        "bid",
        "ask",
        "mark",
        "funding/h (rel)",
        "next funding",
        "open orders",
    ):
        markets.add_column(col, justify="right" if col not in ("symbol", "state") else "left")
    for symbol in node.symbols:
        book = node.books.get(symbol)
        bid = book.best_bid() if book is not None else None
        ask = book.best_ask() if book is not None else None
        ticker = node.tickers.get(symbol)
        state = node.trading_state(symbol).value
        style = {"open": "green", "post_only": "yellow"}.get(state, "red")
        live = node.manager.tracker.live_count(symbol=symbol)
        markets.add_row(
            symbol,
            f"[{style}]{state}[/]",
            _fmt(bid[0] if bid else None, 1),
            _fmt(ask[0] if ask else None, 1),
            _fmt(node.mark(symbol), 1),
            f"{ticker.relative_funding_rate:.6%}"
            if ticker and ticker.relative_funding_rate is not None
            else "-",
            iso_ms(ticker.next_funding_ms)[11:19] if ticker and ticker.next_funding_ms else "-",
            str(live),
        )
    pnl = Table(title="positions and PnL (settlement currency)", expand=True)
    for col in ("strategy", "symbol", "qty", "entry", "trading", "fees", "funding", "net", "fills"):
        pnl.add_column(col, justify="left" if col in ("strategy", "symbol") else "right")
    for row in positions_rows(node):
        pnl.add_row(
            row["strategy"],
            row["symbol"],
            str(row["qty"]),
            _fmt(row["entry"], 1),
            _fmt(row["realized"] + row["unrealized"], 4),
            _fmt(-row["fees"], 4),
            _fmt(row["funding"], 4),
            _fmt(row["net"], 4),
            str(row["fills"]),
        )
    alerts = Table(title="alerts", expand=True, show_header=False)
    alerts.add_column("time", width=10)
    alerts.add_column("text")
    for alert in list(node.recent)[-6:]:
        colour = {"critical": "red", "warning": "yellow"}.get(alert.severity.value, "white")
        alerts.add_row(iso_ms(alert.ts_ms)[11:19], f"[{colour}]{alert.text}[/]")
    m = node.manager
    halts = ", ".join(f"{k or 'all'}: {v.kind}" for k, v in node.halts.items()) or "none"
    footer = (
        f"exchange time {iso_ms(node.clock.now_ms())[:19]}Z  |  wall {time.monotonic() - started:,.0f} s  |  "
        f"requests {m.sent_requests}  lost replies {m.lost_replies}  resent {m.resent}  |  "
        f"dead man re-arms {node.stats.deadman_arms}  reconciles {node.stats.reconciles}  |  halts: {halts}  |  Ctrl-C stops"
    )
    return Group(markets, pnl, alerts, footer)


def summary(node: Any, *, started: float) -> dict[str, Any]:
    """The end-of-run summary (``--json`` prints it as is; Decimals as strings)."""
    rows = positions_rows(node)
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        t = totals.setdefault(
            row["currency"], {k: ZERO for k in ("trading", "fees", "funding", "net")}
        )
        t["trading"] += row["realized"] + row["unrealized"]
        t["fees"] += row["fees"]
        t["funding"] += row["funding"]
        t["net"] += row["net"]
    states = node.manager.tracker.state_counts()  # the forgotten ended orders too
    return {
        "wall_seconds": round(time.monotonic() - started, 1),
        "exchange_time": iso_ms(node.clock.now_ms()),
        "orders": sum(states.values()),
        "order_states": states,
        "fills": sum(r["fills"] for r in rows),
        "funding_payments": sum(1 for r in rows if r["funding"] != 0),
        "requests": node.manager.sent_requests,
        "lost_replies": node.manager.lost_replies,
        "resent": node.manager.resent,
        "positions": [
            {k: (str(tidy(v)) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows
        ],
        "pnl": {c: {k: str(tidy(v)) for k, v in t.items()} for c, t in totals.items()},
        "halts": {k or "all": v.reason for k, v in node.halts.items()},
        "alerts": [a.text for a in node.recent],
    }


__all__ = ["positions_rows", "render", "summary"]
