"""Models of the valuation app (its job kind arrives with its issue)."""
