"""The `kf` command line."""
