"""The `pacs` database alias: the county's PACS, read only, from a URL (its router: ingestion/pacs/router.py).

`PACS_DATABASE_URL` names it. The real one is SQL Server, reached through mssql-django:

    mssql://user:password@host:1433/pacs_oltp                       Microsoft's mssql-python driver (default)
    mssql://user:password@host:1433/pacs_oltp?driver=pyodbc         pyodbc and a system ODBC driver
    ...?driver=pyodbc&odbc_driver=ODBC+Driver+17+for+SQL+Server     another ODBC driver than 18
    ...?extra_params=TrustServerCertificate%3Dyes                   more connection-string keywords

mssql-python bundles its SQL Server driver, so nothing is installed on the machine; pyodbc stays selectable
for a site whose ODBC setup is already managed. Either way the connection asks for `ApplicationIntent=ReadOnly`
(a read-only replica of an availability group answers it; a primary accepts it too).

`postgres://` and `sqlite:///` URLs reach PACS-shaped databases (the fake PACS of tests and the demo). They
are opened read-only as well: PostgreSQL with `default_transaction_read_only`, SQLite in `mode=ro`. With
the router (ingestion/pacs/router.py) refusing writes and migrations, nothing of ours can change PACS.

Only the standard library and dj-database-url are imported here: settings.py calls `pacs_database()`.
"""

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ImproperlyConfigured

PACS_ALIAS = "pacs"
READ_ONLY_INTENT = "ApplicationIntent=ReadOnly"
DEFAULT_ODBC_DRIVER = "ODBC Driver 18 for SQL Server"
_OURS = {"driver", "odbc_driver", "extra_params"}  # query parameters read here, not passed on


def pacs_database(url: str, *, conn_max_age: int = 0) -> dict:
    """The DATABASES entry of the `pacs` alias for `url`."""
    import dj_database_url

    scheme = url.partition(":")[0].lower()
    base, _, raw_query = url.partition("?")
    query = dict(parse_qsl(raw_query, keep_blank_values=True))
    ours = {key: query.pop(key) for key in list(query) if key in _OURS}
    plain = f"{base}?{urlencode(query)}" if query else base
    if scheme == "mssql":
        # mssql-django's engine is "mssql"; dj-database-url maps the scheme to the retired django-pyodbc.
        dj_database_url.register("mssql", "mssql")(lambda config: config.update(PORT=str(config.get("PORT") or "")))
    try:
        config = dj_database_url.parse(plain, conn_max_age=conn_max_age)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"PACS_DATABASE_URL is not a database URL we understand ({exc}).") from None
    if scheme == "mssql":
        config["OPTIONS"] = _mssql_options(ours, config.get("OPTIONS", {}))
    elif ours:
        raise ImproperlyConfigured(f"PACS_DATABASE_URL: {', '.join(sorted(ours))} apply to mssql:// URLs only.")
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Read-only, no parallel query and no JIT: a load runs its parts in parallel on the workers already, and
        # each part's queries fanned out to 2 more server processes oversubscribed the cores; JIT compiled each
        # range's queries anew, for longer than they ran (both measured: docs/ or the reader's docstring).
        options = config.setdefault("OPTIONS", {})
        extra = "-c default_transaction_read_only=on -c max_parallel_workers_per_gather=0 -c jit=off"
        options["options"] = f"{options.get('options', '')} {extra}".strip()
    elif config["ENGINE"] == "django.db.backends.sqlite3":
        config["NAME"] = f"file:{config['NAME']}?mode=ro"
        config.setdefault("OPTIONS", {})["uri"] = True
    else:
        raise ImproperlyConfigured(f"PACS_DATABASE_URL: {scheme}:// is not a PACS database we can read.")
    config.setdefault("TEST", {})["MIGRATE"] = False
    return config


def _mssql_options(ours: dict, options: dict) -> dict:
    driver = (ours.get("driver") or "mssql_python").strip().lower().replace("-", "_")
    extra = ";".join(part for part in (READ_ONLY_INTENT, ours.get("extra_params", "").strip(" ;")) if part)
    if driver == "mssql_python":
        if "odbc_driver" in ours:
            raise ImproperlyConfigured("PACS_DATABASE_URL: odbc_driver needs driver=pyodbc.")
        return {**options, "python_driver": "mssql_python", "extra_params": extra}
    if driver == "pyodbc":
        return {**options, "driver": ours.get("odbc_driver") or DEFAULT_ODBC_DRIVER, "extra_params": extra}
    raise ImproperlyConfigured(f"PACS_DATABASE_URL: driver={driver!r}; use mssql_python (the default) or pyodbc.")


def pacs_connection_open(url: str, *, alias: str = "pacs_file"):
    """A connection to a PACS-shaped database at `url`, opened as the `pacs` alias would be (read-only), but not
    registered as an alias: the demo reads the fake PACS it made this way, whatever PACS_DATABASE_URL says."""
    from importlib import import_module

    from django.db import connections

    config = connections.configure_settings({"default": connections.settings["default"], alias: pacs_database(url)})
    return import_module(f"{config[alias]['ENGINE']}.base").DatabaseWrapper(config[alias], alias)
