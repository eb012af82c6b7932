"""Models of the ingestion app (its job kind arrives with its issue)."""
