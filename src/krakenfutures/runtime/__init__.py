"""Live wiring: the node, the live venue, the trading-state monitor, the journal, alerts."""
