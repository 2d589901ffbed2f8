"""Public test helpers: FakeClock and exchange_pair() wiring a client to the simulator."""
