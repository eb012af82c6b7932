"""Models of the market_analysis app (its job kind arrives with its issue)."""
