"""Shared test support: factories, and the API test base that proves county RBAC on every endpoint."""
