"""Legacy Futures REST v3 (+ history v2/v3, charts v1): endpoint table, schema, build, parse."""
