"""Market signals and alert records (pure: delivery lives in the runtime)."""
