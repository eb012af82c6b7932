"""Models of the gis_export app (its job kind arrives with its issue)."""
