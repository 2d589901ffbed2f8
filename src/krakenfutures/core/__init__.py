"""Sans-I/O core: every rule of the exchange, no network, clock, environment or randomness.

Time, nonces and randomness come in as arguments, so the same code serves the client, the
simulator (server role) and the backtester.
"""
