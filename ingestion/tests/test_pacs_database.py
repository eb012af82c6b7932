"""The `pacs` alias from PACS_DATABASE_URL: SQL Server through mssql-python by default, pyodbc on request, and
every engine opened read-only."""

import sqlite3

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.utils import DatabaseError

from terrafusion.databases import pacs_database


def wrapper(config: dict, alias: str = "pacs_probe"):
    """A connection of `config`, made as Django makes the alias's (outside the test's allowed databases)."""
    settings = connections.configure_settings({"default": {}, alias: config})[alias]
    backend = __import__(f"{settings['ENGINE']}.base", fromlist=["DatabaseWrapper"])
    return backend.DatabaseWrapper(settings, alias)


def test_sql_server_goes_through_mssql_python_read_only():
    config = pacs_database("mssql://reader:p%40ss@pacs-sql.county.local:1433/pacs_oltp")
    assert (config["ENGINE"], config["NAME"], config["HOST"], config["PORT"]) == (
        "mssql",
        "pacs_oltp",
        "pacs-sql.county.local",
        "1433",
    )
    assert config["PASSWORD"] == "p@ss"
    assert config["OPTIONS"] == {"python_driver": "mssql_python", "extra_params": "ApplicationIntent=ReadOnly"}
    # mssql-django's own connection string: its bundled driver (no DRIVER keyword), the read-only intent.
    connection = wrapper(config)
    connstr = connection._build_connection_string(connection.get_connection_params(), None)
    assert "ApplicationIntent=ReadOnly" in connstr and "DRIVER" not in connstr
    assert "SERVER=pacs-sql.county.local,1433" in connstr and "DATABASE=pacs_oltp" in connstr


def test_pyodbc_stays_selectable():
    config = pacs_database(
        "mssql://reader:pw@pacs-sql:1433/pacs_oltp?driver=pyodbc&odbc_driver=ODBC+Driver+17+for+SQL+Server"
        "&extra_params=TrustServerCertificate%3Dyes"
    )
    assert config["OPTIONS"] == {
        "driver": "ODBC Driver 17 for SQL Server",
        "extra_params": "ApplicationIntent=ReadOnly;TrustServerCertificate=yes",
    }
    connection = wrapper(config)
    connstr = connection._build_connection_string(connection.get_connection_params(), "ODBC Driver 17 for SQL Server")
    assert "DRIVER=ODBC Driver 17 for SQL Server;" in connstr and "ApplicationIntent=ReadOnly" in connstr
    assert (
        pacs_database("mssql://r:p@h/pacs_oltp?driver=pyodbc")["OPTIONS"]["driver"] == "ODBC Driver 18 for SQL Server"
    )


@pytest.mark.parametrize(
    "url, message",
    [
        ("mssql://r:p@h/pacs?driver=jdbc", "driver='jdbc'"),
        ("mssql://r:p@h/pacs?odbc_driver=X", "odbc_driver needs driver=pyodbc"),
        ("postgres://u@h/pacs?driver=pyodbc", "apply to mssql:// URLs only"),
        ("mysql://u@h/pacs", "not a PACS database we can read"),
        ("oracle2://x", "not a database URL we understand"),
    ],
)
def test_a_bad_url_is_refused_with_the_reason(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        pacs_database(url)


def test_postgresql_is_opened_read_only(db):
    default = connections["default"].settings_dict
    url = f"postgres://{default['USER']}@{default['HOST']}:{default['PORT']}/{default['NAME']}"
    connection = wrapper(pacs_database(url))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
            with pytest.raises(DatabaseError, match="read-only transaction"):
                cursor.execute("CREATE TABLE pacs_probe_write (i int)")
    finally:
        connection.close()


def test_sqlite_is_opened_read_only(tmp_path, django_db_blocker):
    path = tmp_path / "pacs.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE property (prop_id INTEGER PRIMARY KEY)")
        setup.execute("INSERT INTO property VALUES (7)")
    setup.close()
    connection = wrapper(pacs_database(f"sqlite:///{path}"))
    try:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("SELECT prop_id FROM property")
            assert cursor.fetchall() == [(7,)]
            with pytest.raises(DatabaseError, match="readonly"):
                cursor.execute("INSERT INTO property VALUES (8)")
    finally:
        connection.close()
