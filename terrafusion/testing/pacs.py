"""The `pacs` alias in tests: a PostgreSQL test database beside the default one, filled by the fake PACS.

`pacs_test_alias_register()` (called by the root conftest.py when the tests are collected) adds the
alias unless PACS_DATABASE_URL configured one: same server as the default database, named `<default>_pacs`.
pytest-django then creates its test database (`test_<default>_pacs`, empty: the router migrates nothing there)
for the tests that ask for the `pacs` database, and `pacs_fill()` writes a fake PACS into it with its own
connection, as `make_fake_pacs` would. The alias is opened without `default_transaction_read_only` here only
because the test runner must create its database; that PACS is opened read-only is tested on its own
(ingestion/tests/test_pacs_database.py), and the router refuses writes either way.
"""

from urllib.parse import quote

from django.db import connections

from terrafusion.databases import PACS_ALIAS, pacs_database


def _url(settings: dict, name: str) -> str:
    credentials = quote(settings["USER"] or "", safe="")
    if settings.get("PASSWORD"):
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    return f"postgres://{credentials}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"


def pacs_test_alias_register() -> None:
    if PACS_ALIAS in connections.settings:
        return
    default = connections.settings["default"]
    if "postgresql" not in default["ENGINE"]:
        return  # the suite runs on PostgreSQL (make test); PACS tests are skipped elsewhere
    config = pacs_database(_url(default, f"{default['NAME']}_pacs"))
    config["OPTIONS"].pop("options", None)
    # connections.settings is settings.DATABASES itself: the test runner names the test database there.
    connections.settings[PACS_ALIAS] = connections.configure_settings({"default": default, PACS_ALIAS: config})[
        PACS_ALIAS
    ]


def pacs_url() -> str:
    """The URL of the alias's database as it is now (the test database once the runner has made it)."""
    return _url(connections[PACS_ALIAS].settings_dict, connections[PACS_ALIAS].settings_dict["NAME"])


def pacs_fill(*, properties: int, years: list[int], seed: int = 1):
    """Write a fake PACS into the alias's database (replacing what is there); returns its summary."""
    from ingestion.pacs.fake import fake_pacs_create

    return fake_pacs_create(pacs_url(), properties=properties, years=years, seed=seed, replace=True)


def pacs_execute(*statements: str) -> None:
    """Change the fake PACS as PACS itself would (the alias is read-only to us): one committed transaction."""
    import psycopg

    with psycopg.connect(pacs_url().replace("postgres://", "postgresql://", 1)) as connection:
        for statement in statements:
            connection.execute(statement)
