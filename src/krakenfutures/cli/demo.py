"""`make run` / `kf demo`: a short trading session against an embedded simulator, no keys needed.

It starts the simulator on a free loopback port (clock x120, so funding hours pass every 30 s),
then trades with the real :class:`~krakenfutures.Client` over HTTP: quotes post-only orders
around the mark, cancels and replaces them, arms the dead man's switch, takes liquidity now and
then, and shows a live view of prices, funding, orders, position, fees and PnL. The bot runtime
will replace this quoting loop; the plumbing (simulator, client, wire) is the real thing.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

import click

SYMBOL = "PF_XBTUSD"
QTY = Decimal("0.01")


@dataclass
class Session:
    """Running totals of the demo session (all exact Decimals)."""

    orders_sent: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    fills: int = 0
    fees: Decimal = Decimal(0)
    seen_fills: set[str] = field(default_factory=set)
    funding: Decimal = Decimal(0)
    started: float = field(default_factory=time.monotonic)


def _run(seconds: float, speed: float, seed: int, live: bool) -> dict[str, Any]:
    from krakenfutures import Client
    from krakenfutures.sim.app import Simulator
    from krakenfutures.sim.clock import SimClock
    from krakenfutures.sim.launch import prepare
    from krakenfutures.sim.server import SimServer, ThreadedServer

    plan = prepare(port=0, seed=seed, speed=speed, write_creds=False)
    cfg = plan.config
    clock = SimClock(cfg.speed, cfg.start_ms)
    sim = Simulator(cfg, now_ms=clock.now_ms())
    server = SimServer.for_simulator(sim, clock)
    key = cfg.keys[0]
    rng = random.Random(seed)
    session = Session()
    with ThreadedServer(server) as running:
        client = Client(key.api_key, key.api_secret, base_url=running.base_url, nonce="memory")
        inst = next(i for i in client.get_instruments() if i.symbol == SYMBOL)
        tick = Decimal(str(inst.tick_size))
        client.cancel_all_orders_after(timeout=60)
        deadline = time.monotonic() + seconds
        view = _View(live)
        with view:
            n = 0
            while time.monotonic() < deadline:
                n += 1
                ticker = client.get_ticker(symbol=SYMBOL)
                mark = ticker.mark_price or ticker.last
                if mark is None:
                    time.sleep(0.2)
                    continue
                client.cancel_all_orders(symbol=SYMBOL)
                half = (mark * Decimal("0.0005") / tick).quantize(Decimal(1), ROUND_DOWN) * tick
                for side, price in (("buy", mark - half - tick), ("sell", mark + half + tick)):
                    price = (price / tick).quantize(Decimal(1)) * tick
                    st = client.send_order(
                        order_type="post",
                        symbol=SYMBOL,
                        side=side,
                        qty=QTY,
                        limit_price=price,
                        cli_ord_id=f"demo-{n}-{side}",
                    )
                    _count(session, st.status)
                if n % 7 == 0:  # now and then, take liquidity to show taker fees and slippage
                    st = client.send_order(
                        order_type="mkt",
                        symbol=SYMBOL,
                        side=rng.choice(("buy", "sell")),
                        qty=QTY,
                        cli_ord_id=f"demo-{n}-take",
                    )
                    _count(session, st.status)
                if n % 10 == 0:
                    client.cancel_all_orders_after(timeout=60)
                view.update(_snapshot(client, session, ticker))
                time.sleep(0.5)
        client.cancel_all_orders()
        client.cancel_all_orders_after(timeout=0)
        summary = _summary(client, session)
        client.close()
    return summary


def _count(session: Session, status: str) -> None:
    session.orders_sent += 1
    if status not in ("placed", "partiallyFilled", "filled"):
        session.refused[status] = session.refused.get(status, 0) + 1


def _ledger(client: Any) -> tuple[int, Decimal, Decimal]:
    log = client.history_account_log(count=1000)
    fills = sum(1 for e in log.logs if e.info == "futures trade" and e.fee is not None)
    fees = sum((e.fee or Decimal(0) for e in log.logs), Decimal(0))
    funding = sum((e.realized_funding or Decimal(0) for e in log.logs), Decimal(0))
    return fills, fees, funding


def _book_fills(client: Any, session: Session) -> None:
    """Count new fills and their fees with our own fee model (REST fills carry no fee; the
    summary checks the model against the exchange's account log). Uses the derivatives budget:
    the account log draws on the history pool, only 100 tokens per 10 minutes."""
    from krakenfutures.core.money import fee_for_fill
    from krakenfutures.core.types import ContractKind

    for fill in client.get_fills():
        if fill.fill_id in session.seen_fills:
            continue
        session.seen_fills.add(fill.fill_id)
        session.fills += 1
        maker = fill.fill_type == "maker"
        session.fees += fee_for_fill(ContractKind.LINEAR, fill.qty, fill.price, maker=maker)


def _snapshot(client: Any, session: Session, ticker: Any) -> dict[str, Any]:
    positions = client.get_open_positions()
    flex = client.get_accounts().get("flex")
    _book_fills(client, session)
    fills, fees = session.fills, session.fees
    funding = sum((p.unrealized_funding or Decimal(0) for p in positions), Decimal(0))
    return {
        "mark": ticker.mark_price,
        "index": ticker.index_price,
        "funding_rate": ticker.funding_rate,
        "open_orders": len(client.get_open_orders()),
        "position": " ".join(f"{p.side} {p.qty}" for p in positions) or "flat",
        "fills": fills,
        "fees_usd (our model)": fees,
        "unrealized_funding_usd": funding,
        "pnl_usd": getattr(flex, "pnl", None),
        "available_margin": getattr(flex, "available_margin", None),
        "orders_sent": session.orders_sent,
        "refused": dict(session.refused),
        "elapsed_s": round(time.monotonic() - session.started, 1),
    }


def _summary(client: Any, session: Session) -> dict[str, Any]:
    _book_fills(client, session)
    fills, fees, funding = _ledger(client)
    flex = client.get_accounts().get("flex")
    return {
        "orders_sent": session.orders_sent,
        "refused": session.refused,
        "fills": fills,
        "fees_usd (exchange account log)": str(fees),
        "fees_usd (our fee model)": str(session.fees),
        "funding_usd (realised)": str(funding),
        "portfolio_value": str(getattr(flex, "portfolio_value", "")),
        "positions": [
            f"{p.side} {p.qty} {p.symbol} @ {p.price}" for p in client.get_open_positions()
        ],
    }


class _View:
    """A rich live table when attached to a terminal; plain lines otherwise."""

    def __init__(self, live: bool) -> None:
        self.live = live
        self._live: Any = None
        self._last_print = 0.0

    def __enter__(self) -> _View:
        if self.live:
            from rich.live import Live

            self._live = Live(refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def update(self, row: dict[str, Any]) -> None:
        if self._live is not None:
            from rich.table import Table

            table = Table(title=f"kf demo on the local simulator: {SYMBOL}")
            table.add_column("what")
            table.add_column("value", justify="right")
            for k, v in row.items():
                table.add_row(k, str(v))
            self._live.update(table)
        elif time.monotonic() - self._last_print > 5:
            self._last_print = time.monotonic()
            click.echo(", ".join(f"{k}={v}" for k, v in row.items() if k != "refused"))


@click.command()
@click.option("--seconds", type=float, default=45.0, show_default=True, help="Wall-clock length.")
@click.option("--speed", type=float, default=120.0, show_default=True, help="Exchange clock speed.")
@click.option("--seed", type=int, default=7, show_default=True, help="Market seed.")
@click.option("--json", "as_json", is_flag=True, help="Print only the final summary as JSON.")
def demo(seconds: float, speed: float, seed: int, as_json: bool) -> None:
    """Trade a short session against an embedded simulator (what `make run` does)."""
    import json
    import sys

    live = sys.stdout.isatty() and not as_json
    summary = _run(seconds, speed, seed, live)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo("session summary:")
        for k, v in summary.items():
            click.echo(f"  {k}: {v}")


def main() -> None:
    """Entry point for ``python -m krakenfutures.cli.demo``."""
    demo()


if __name__ == "__main__":
    main()
