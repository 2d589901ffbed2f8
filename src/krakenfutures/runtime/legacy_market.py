"""The legacy WebSocket v1 feed as a :class:`~krakenfutures.runtime.node.MarketSource`.

Wraps an :class:`~krakenfutures.client.feed.AsyncFeed`: subscribes the public feeds (book,
trade, ticker) of the bot's symbols and the private ones it needs, keeps the feed's local books
(gap-checked, resynced by the feed itself) and yields the domain events a
:class:`~krakenfutures.runtime.legacy_feed.FeedTranslator` makes of each message:
:class:`BookUpdated` after each applied book message of a synced book, trades, tickers, fills,
order snapshots, positions, balances, and :class:`FeedReconnected` after a reconnect so the
node reconciles with REST.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from krakenfutures.client.feed import AsyncFeed
from krakenfutures.core.events import BookUpdated
from krakenfutures.core.types import normalize_symbol
from krakenfutures.runtime.legacy_feed import FeedTranslator, subscribe_private, subscribe_public


class LegacyMarket:
    """Domain events from one v1 feed connection (public + private)."""

    def __init__(self, feed: AsyncFeed, symbols: Iterable[str], *, private: bool = True) -> None:
        self.feed = feed
        self.symbols = tuple(normalize_symbol(s) for s in symbols)
        self.translator = FeedTranslator(book_for=feed.book)
        subscribe_public(feed, self.symbols)
        if private:
            subscribe_private(feed)

    async def __aiter__(self) -> AsyncIterator[object]:
        wanted = set(self.symbols)
        async for message in self.feed:
            for record in self.translator(message):
                if isinstance(record, BookUpdated) and record.symbol not in wanted:
                    continue
                yield record

    async def aclose(self) -> None:
        """Close the feed."""
        await self.feed.aclose()


__all__ = ["LegacyMarket"]
