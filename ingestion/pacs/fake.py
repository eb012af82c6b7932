"""Fake PACS databases: the demo county written in PACS's tables and columns, with PACS's quirks.

No SQL Server runs on our machines, so the loader's tests and the demos read a PACS-shaped database (SQLite
file or PostgreSQL database) made here by `fake_pacs_create`. The county is `demo_data_generate`'s, so the
known price model survives the trip: the real, active, current-supplement rows of the working year and the
certified year (working - 1) carry exactly the demo's characteristics, values and sales, and a correct loader
reproduces what `generate_demo_county` writes. Everything else is noise a loader must see through.

The DDL derives from `ingestion.pacs.schema.TABLES` (never a second column list). The demo model JSON and the
generation parameters go to the one non-PACS table `terrafusion_fake_pacs (key, value)` (keys `demo_model`,
`parameters`, `codes`; JSON text).

The quirks, where they are made, and roughly how often:

- CHAR blank padding: every CHAR column (`prop_type_cd` 'R    ', `sl_ratio_type_cd` '00   ', `deed_type_cd`,
  `imprv_det_type_cd` 'MA        ', ...): PostgreSQL char(n) pads by itself; on SQLite `_sqlite_values` pads.
- NULL money meaning 0 (`_property_val_rows`): `land_hstd_val`/`imprv_hstd_val` NULL without homestead (~40%),
  `land_non_hstd_val`/`imprv_non_hstd_val` NULL for about half the homesteads, `ag_*`/`timber_*` NULL on
  ~97% (0 on the rest); ~5% of homesteads split land and improvement between the two columns.
- Free text with CR/LF and stray whitespace: `legal_desc` on ~10% ('LOT 4 BLOCK 2\\r\\nSUNSET ADD  ';
  collapsing whitespace runs and stripping gives the demo text back), `hood_cd` with trailing blanks on ~1%,
  `chg_of_owner.comment` with CR/LF on ~5%, `situs_display` (computed) is 'street\\r\\nCITY, WA zip'.
- `sale.consideration` is text ('$250,000.00'), not a number (`_sale_rows`).
- Supplements (`_year_rows`): per year ~5% of properties have sup_num 0 and 1, ~1% also 2, `prev_sup_num`
  pointing back, `sup_cd`/`sup_desc`/`sup_dt` set; only the highest is named by `prop_supp_assoc` and carries
  the demo's values and characteristics; the older ones have stale values (3-15% lower), a smaller living
  area, one bedroom and half a bath less, other land segments.
- Inactive properties (`_plan_build`, kind "inactive"): extra real properties (~1% of N) with
  `prop_inactive_dt` set from the certified year on (active in older years); demo parcels are never inactive.
- Non-real properties: 'P' personal (~1.5%), 'MH' mobile home (~0.7%, with an improvement), 'A' auto (~0.4%),
  'MN' mineral (~0.4%), with their own prop_ids above the demo's, values, owners, supplements.
- UDI (`_plan_build`): ~0.3% of demo parcels are undivided-interest parents (`udi_parent` 'T', carrying the
  demo values) with 2-3 real, active children each (`udi_parent_prop_id` = the parent; values are shares of
  the parent's, so a loader that keeps the children double counts): a loader skips the children.
- Several owners (`_owner_rows`): ~10% of properties have two owners (50/50 or 60/40); the primary one (the
  larger share, or the lower owner_id at 50/50) is the demo owner; `account` per owner, `address` per account
  with one `primary_addr` 'Y' row and on ~10% a second, non-primary, different one.
- Several situs rows (`_situs_rows`): ~5% of properties have 2-3, exactly one `primary_situs` 'Y' and it is not
  always the first situs_id.
- Several improvements (`_improvement_rows`): ~30% of improved parcels have a second, smaller one (garage or
  shed, later year, no main area); main areas ('MA') are one or (~20%) two detail rows summing to the living
  area; 'GAR'/'PORCH' details besides. Bedrooms, full and half baths are `imprv_attr` 15/45/46 (`i_attr_unit`).
- Several land segments (`_land_rows`): ~15% have two, whose `size_square_feet` sum to the demo land area.
- Sale snapshots (`_snapshot_rows`): ~25% of sold improved parcels have imprv/imprv_detail/imprv_attr/
  land_detail rows with `sale_id` = their latest chg_of_owner_id in the working year, with older (different)
  characteristics: a loader must filter `sale_id = 0`.
- Sales (`_sale_rows`): one chg_of_owner + sale per demo sale (chg_of_owner_id = demo sale id, price, date,
  deed, excise number as INT); the demo's validity codes ('00' valid; '12', '13', '15', '22', '25') in
  `sl_ratio_type_cd`; `adjusted_sl_price` NULL on ~5% (= sl_price); `seq_num` 0 for a property's latest
  conveyance. Extra sales with ids above the demo's: multi-parcel sales (~2% of the demo's count, 2-3 parcels
  of one neighborhood, one total price, code '00'), ~0.3% with NULL `sl_price`, ~0.3% with a ratio code
  '99' that `sale_ratio_type` does not know. `sale_ratio_type` also holds the WAC reasons '01'..'08'.
- Coordinates: `gis_real_coord_x/y` are the demo parcel's representative point (the writer's latitude/
  longitude) in EPSG:2927 (Washington South, US feet); NULL on ~0.5%.
- `tsRowVersion` (ROWVERSION; schema.py lists it on property_val only): numbered from one shared counter at
  load; an UPDATE gives a row a fresh, higher number (PostgreSQL: sequence `pacs_rowversion` and a BEFORE UPDATE
  trigger; SQLite: the one-row counter table `pacs_rowversion` and an AFTER UPDATE trigger).
- Computed columns: `property_val.imprv_val` and `situs.situs_display` are generated, stored columns.
- Years other than the demo's two roll years get the demo's values scaled by the model's trend (deterministic).
"""

import json
import math
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

import numpy as np
import shapely

from ingestion.pacs.schema import TABLES, Column, Table
from properties.demo.kernels import SQFT_PER_ACRE, DemoData, demo_data_generate
from properties.demo.model import CLASS_CODES, CONDITION_CODES, QUALITY_CODES, SALE_KINDS

META_TABLE = "terrafusion_fake_pacs"
ROWVERSION_SEQUENCE = "pacs_rowversion"
CHUNK_PROPERTIES = 100_000  # properties generated at once: bounds memory for a million-parcel county
COPY_FIELDS = 2_000_000  # fields formatted into one COPY buffer at once

# Codes the fake writes, for the loader's mapping (also stored under the `codes` key of the meta table).
# Benton's class and condition codes (counties/configs/benton-wa/pacs_mapping.yaml), so the shipped mapping reads
# the fake as it is: the demo made through PACS uses the real configuration.
QUALITY_CLASS_CODES = dict(zip(QUALITY_CODES, ("L", "F", "A", "G", "VG", "E"), strict=True))
CONDITION_PACS_CODES = dict(zip(CONDITION_CODES, ("P", "F", "A", "G", "E"), strict=True))
ATTR_BEDROOMS, ATTR_FULL_BATHS, ATTR_HALF_BATHS = 15, 45, 46
MAIN_AREA = "MA"
UNKNOWN_RATIO_CODE = "99"
MULTI_PARCEL_RATIO_CODE = "00"
CLASS_DESCRIPTIONS = {
    "11": "HOUSEHOLD, SINGLE FAMILY UNITS",
    "12": "HOUSEHOLD, 2-4 UNITS",
    "13": "HOUSEHOLD, MULTIUNITS (5 OR MORE)",
    "51": "RETAIL TRADE",
    "91": "UNDEVELOPED LAND",
}
PROPERTY_TYPES = {"R": "REAL", "P": "PERSONAL", "MH": "MOBILE HOME", "A": "AUTO", "MN": "MINERAL"}
RATIO_TYPES = {
    "00": ("ARMS LENGTH", False),
    "01": ("RELATED PARTIES", True),
    "02": ("WITHIN A CORPORATION", True),
    "03": ("EXECUTOR / ESTATE", True),
    "04": ("FORCED SALE", True),
    "05": ("MULTIPLE PARCELS", True),
    "06": ("PERSONAL PROPERTY", True),
    "07": ("CHANGE AFTER SALE", True),
    "08": ("RATIO OUT OF RANGE", True),
    **{k.code: (k.description[:30].upper(), not k.valid) for k in SALE_KINDS if k.code != "00"},
}
DEED_TYPES = {
    "SWD": "STATUTORY WARRANTY DEED",
    "WD": "WARRANTY DEED",
    "BSD": "BARGAIN AND SALE DEED",
    "QC": "QUIT CLAIM DEED",
    "SHD": "SHERIFF'S DEED",
    "TD": "TRUSTEE'S DEED",
    "PRD": "PERSONAL REPRESENTATIVE'S DEED",
}
ATTRIBUTES = {
    2: "Foundation",
    6: "Roof Covering",
    9: "Heating/AC",
    ATTR_BEDROOMS: "Bedrooms",
    ATTR_FULL_BATHS: "Bathrooms",
    ATTR_HALF_BATHS: "Half Baths",
}
# Extra (non-demo) property kinds: name, prop_type_cd, share of N.
EXTRA_KINDS = (("inactive", "R", 0.01), ("P", "P", 0.015), ("MH", "MH", 0.007), ("A", "A", 0.004), ("MN", "MN", 0.004))
KIND_DEMO, KIND_UDI_CHILD = "demo", "udi_child"


class FakePacsError(Exception):
    """A fake PACS database cannot be made as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class FakePacsSummary:
    url: str
    engine: str  # "sqlite" or "postgresql"
    working_year: int
    certified_year: int
    years: tuple[int, ...]
    seed: int
    counts: dict[str, int]
    seconds: float
    demo_property_ids: np.ndarray = field(repr=False)
    extra_property_ids: dict[str, np.ndarray] = field(repr=False)  # by kind: inactive, P, MH, A, MN, udi_child
    udi_parent_ids: np.ndarray = field(repr=False)

    def line(self) -> str:
        tables = ", ".join(f"{name} {count:,}" for name, count in self.counts.items())
        return (
            f"fake PACS ({self.engine}) working year {self.working_year}, years {list(self.years)}, seed {self.seed}: "
            f"{tables} in {self.seconds:.1f} s"
        )


# --- Types and DDL -------------------------------------------------------------------------------------------


def _kind(column: Column) -> str:
    """The value kind a column takes: int, dec, text, dt, bit (ROWVERSION is an int)."""
    if column.is_integer:
        return "int"
    return {"NUMERIC": "dec", "CHAR": "text", "VARCHAR": "text", "DATETIME": "dt", "BIT": "bit"}[column.sql_type]


def _quote(name: str) -> str:
    return f'"{name}"'


def _situs_display_sql(engine: str) -> str:
    """PACS's situs_display: the street parts then CR/LF and 'CITY, ST ZIP', blanks trimmed, empty parts left out."""

    def part(name: str, after: str) -> str:
        return f"coalesce(nullif(trim({_quote(name)}), '') || '{after}', '')"

    street = " || ".join(
        part(c, " ")
        for c in ("situs_num", "sub_num", "situs_street_prefx", "situs_street", "situs_street_sufix", "situs_unit")
    )
    city = f"trim({part('situs_city', ', ')} || {part('situs_state', ' ')} || {part('situs_zip', '')})"
    crlf = "char(13, 10)" if engine == "sqlite" else "chr(13) || chr(10)"
    return f"trim({street}) || CASE WHEN {city} <> '' THEN {crlf} || {city} ELSE '' END"


def _computed_sql(table: str, column: Column, engine: str) -> tuple[str, str]:
    """(type, expression) of a COMPUTED column, as the engine writes a generated stored column."""
    if (table, column.name) == ("property_val", "imprv_val"):
        return ("INTEGER" if engine == "sqlite" else "numeric(14)"), (
            'coalesce("imprv_hstd_val", 0) + coalesce("imprv_non_hstd_val", 0)'
        )
    if (table, column.name) == ("situs", "situs_display"):
        return ("TEXT" if engine == "sqlite" else "varchar(200)"), _situs_display_sql(engine)
    raise FakePacsError(f"no expression for the computed column {table}.{column.name}")


def _column_type(column: Column, engine: str) -> str:
    t, args = column.sql_type, column.args
    if engine == "sqlite":
        if column.is_integer or t == "BIT":
            return "INTEGER"
        return {"NUMERIC": "REAL", "CHAR": "TEXT", "VARCHAR": "TEXT", "DATETIME": "TEXT"}[t]
    if t == "NUMERIC":
        return f"numeric({args[0]}, {column.scale})"
    return {
        "INT": "integer",
        "SMALLINT": "smallint",
        "CHAR": f"char({args[0]})" if args else "char(1)",
        "VARCHAR": f"varchar({args[0]})" if args else "varchar",
        "DATETIME": "timestamp",
        "BIT": "boolean",
        "ROWVERSION": "bigint",
    }[t]


def _default_sql(column: Column, engine: str) -> str | None:
    if column.default is None:
        return None
    if column.sql_type == "BIT" and engine == "postgresql":
        return "true" if re.sub(r"\D", "", column.default) == "1" else "false"
    return column.default


def table_ddl(table: Table, engine: str) -> list[str]:
    """CREATE TABLE for `engine` ("sqlite" or "postgresql"). Keys are inline on SQLite, added after loading on
    PostgreSQL (`table_key_ddl`)."""
    lines = []
    for column in table.columns.values():
        if column.sql_type == "COMPUTED":
            type_, expr = _computed_sql(table.name, column, engine)
            lines.append(f"{_quote(column.name)} {type_} GENERATED ALWAYS AS ({expr}) STORED")
            continue
        line = f"{_quote(column.name)} {_column_type(column, engine)}"
        if not column.nullable:
            line += " NOT NULL"
        default = _default_sql(column, engine)
        if column.sql_type == "ROWVERSION" and engine == "postgresql":
            default = f"nextval('{ROWVERSION_SEQUENCE}')"
        if default is not None:
            line += f" DEFAULT {default}"
        lines.append(line)
    if engine == "sqlite":
        lines.append(f"PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})")
        lines.extend(f"UNIQUE ({', '.join(map(_quote, u))})" for u in table.unique)
    body = ",\n  ".join(lines)
    return [f"CREATE TABLE {_quote(table.name)} (\n  {body}\n)"]


# Indexes a loader reading one year wants beyond the keys.
EXTRA_INDEXES = {
    "situs": (("prop_id",),),
    "chg_of_owner_prop_assoc": (("chg_of_owner_id",), ("prop_id",)),
    "owner": (("owner_tax_yr", "prop_id"),),
    "property_val": (("prop_id",),),
}


def table_key_ddl(table: Table, engine: str) -> list[str]:
    """Primary key, unique constraints (PostgreSQL only: SQLite has them inline) and the loader's indexes."""
    statements = []
    if engine == "postgresql":
        statements.append(
            f"ALTER TABLE {_quote(table.name)} ADD PRIMARY KEY ({', '.join(map(_quote, table.primary_key))})"
        )
        statements.extend(
            f"ALTER TABLE {_quote(table.name)} ADD UNIQUE ({', '.join(map(_quote, u))})" for u in table.unique
        )
    for i, columns in enumerate(EXTRA_INDEXES.get(table.name, ())):
        statements.append(
            f"CREATE INDEX {_quote(f'{table.name}_ix{i}')} ON {_quote(table.name)} ({', '.join(map(_quote, columns))})"
        )
    return statements


def rowversion_ddl(table: Table, engine: str) -> list[str]:
    """SQL Server's rowversion on UPDATE: a fresh number from the one shared counter."""
    name = next((c.name for c in table.columns.values() if c.sql_type == "ROWVERSION"), None)
    if name is None:
        return []
    t, c = _quote(table.name), _quote(name)
    if engine == "postgresql":
        return [
            f"CREATE TRIGGER {_quote(table.name + '_rowversion')} BEFORE UPDATE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION pacs_rowversion_bump()"
        ]
    return [
        f"CREATE TRIGGER {_quote(table.name + '_rowversion')} AFTER UPDATE ON {t} FOR EACH ROW "  # noqa: S608 (names from schema.py)
        f"WHEN NEW.{c} IS OLD.{c} BEGIN "
        f"UPDATE {ROWVERSION_SEQUENCE} SET value = value + 1; "
        f"UPDATE {t} SET {c} = (SELECT value FROM {ROWVERSION_SEQUENCE}) WHERE rowid = NEW.rowid; END"
    ]


# --- Formatting values ----------------------------------------------------------------------------------------
# A column's values come as a scalar (repeated), a numpy array (float NaN / NaT = NULL), or an object array of
# str / None. PostgreSQL gets COPY text, SQLite Python values.

_PG_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _scalar_normalise(values):
    """NaN and NaT scalars are NULL; a datetime64 scalar is its ISO text."""
    if isinstance(values, float) and math.isnan(values):
        return None
    if isinstance(values, np.datetime64):
        return None if np.isnat(values) else str(values.astype("datetime64[s]")).replace("T", " ")
    return values


def _pg_strings(column: Column, values, n: int) -> list[str]:
    kind = _kind(column)
    if np.isscalar(values):
        values = _scalar_normalise(values)
    if values is None or np.isscalar(values):
        if values is None:
            return [_PG_NULL] * n
        if kind == "bit":
            return ["t" if values else "f"] * n
        text = str(values)
        return [_copy_escape(text) if _COPY_SPECIAL.search(text) else text] * n
    a = np.asarray(values)
    if a.dtype.kind == "M":
        out = np.datetime_as_string(a.astype("datetime64[s]"), unit="s").astype(object)
        out[np.isnat(a)] = _PG_NULL
        return out.tolist()
    if kind == "bit":
        return np.where(a.astype(bool), "t", "f").tolist()
    if a.dtype.kind in "iub":
        return a.astype(np.int64).astype(str).tolist()
    if a.dtype.kind == "f":
        missing = np.isnan(a)
        filled = np.where(missing, 0, a)
        out = (filled.astype(np.int64) if kind == "int" else filled).astype(str).astype(object)
        out[missing] = _PG_NULL
        return out.tolist()
    texts = a.tolist()
    if any(_COPY_SPECIAL.search(t) for t in texts if t is not None):
        return [_PG_NULL if t is None else _copy_escape(t) for t in texts]
    return [_PG_NULL if t is None else t for t in texts]


def _sqlite_values(column: Column, values, n: int) -> list:
    kind = _kind(column)
    if np.isscalar(values):
        values = _scalar_normalise(values)
    if values is None or np.isscalar(values):
        if values is not None and kind == "text" and column.sql_type == "CHAR":
            values = str(values).ljust(column.args[0])
        elif kind == "bit" and values is not None:
            values = int(bool(values))
        elif isinstance(values, np.generic):
            values = values.item()
        return [values] * n
    a = np.asarray(values)
    if a.dtype.kind == "M":
        out = np.char.replace(np.datetime_as_string(a.astype("datetime64[s]"), unit="s"), "T", " ").astype(object)
        out[np.isnat(a)] = None
        return out.tolist()
    if kind == "bit":
        return a.astype(bool).astype(np.int64).tolist()
    if a.dtype.kind in "iub":
        return a.astype(np.int64).tolist()
    if a.dtype.kind == "f":
        missing = np.isnan(a)
        out = (np.where(missing, 0, a).astype(np.int64) if kind == "int" else a).astype(object)
        out[missing] = None
        return out.tolist()
    texts = a.tolist()
    if column.sql_type == "CHAR":
        width = column.args[0]
        return [None if t is None else t.ljust(width) for t in texts]
    return texts


# --- Target databases -------------------------------------------------------------------------------------------


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


class _Sink:
    """A target database: create the tables, take rows table by table in chunks, add keys at the end."""

    engine = ""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.rowversion = 0

    def _rowversions(self, table: Table, n: int) -> dict:
        if not any(c.sql_type == "ROWVERSION" for c in table.columns.values()):
            return {}
        start = self.rowversion + 1
        self.rowversion += n
        name = next(c.name for c in table.columns.values() if c.sql_type == "ROWVERSION")
        return {name: np.arange(start, start + n, dtype=np.int64)}

    def write(self, name: str, columns: dict) -> None:
        """Append rows given column-wise (column name -> values, all of one length or scalars)."""
        n = next((len(v) for v in columns.values() if v is not None and not np.isscalar(v)), None)
        if n is None:
            raise ValueError(f"{name}: no column gives the row count")
        if n == 0:
            return
        table = TABLES.get(name)
        if table is not None:
            columns = {**columns, **self._rowversions(table, n)}
        self._write(name, table, columns, n)
        self.counts[name] = self.counts.get(name, 0) + n

    def _write(self, name: str, table: Table | None, columns: dict, n: int) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Leave nothing half made behind after a failure."""
        raise NotImplementedError


class _SqliteSink(_Sink):
    engine = "sqlite"

    def __init__(self, path: str, *, replace: bool) -> None:
        super().__init__()
        self.path = path
        if os.path.exists(path):
            with sqlite3.connect(path) as probe:
                names = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            probe.close()
            if names & (set(TABLES) | {META_TABLE}):
                if not replace:
                    raise FakePacsError(f"{path} already holds PACS tables; pass --replace to delete and remake it.")
                os.remove(path)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("BEGIN")

    def create(self) -> None:
        for table in TABLES.values():
            for statement in table_ddl(table, "sqlite"):
                self.db.execute(statement)
        self.db.execute(f"CREATE TABLE {META_TABLE} (key varchar(100) PRIMARY KEY, value text)")
        self.db.execute(f"CREATE TABLE {ROWVERSION_SEQUENCE} (value INTEGER NOT NULL)")

    def _write(self, name: str, table: Table | None, columns: dict, n: int) -> None:
        names = list(columns)
        if table is None:
            rows = zip(*(list(v) if not np.isscalar(v) else [v] * n for v in columns.values()), strict=True)
        else:
            rows = zip(*(_sqlite_values(table.columns[c], columns[c], n) for c in names), strict=True)
        marks = ", ".join("?" * len(names))
        columns_sql = ", ".join(map(_quote, names))
        self.db.executemany(f"INSERT INTO {_quote(name)} ({columns_sql}) VALUES ({marks})", rows)  # noqa: S608

    def abort(self) -> None:
        # journal_mode=OFF cannot roll back reliably: the half-written file goes.
        self.db.close()
        if os.path.exists(self.path):
            os.remove(self.path)

    def finish(self) -> None:
        self.db.execute(f"INSERT INTO {ROWVERSION_SEQUENCE} (value) VALUES (?)", (self.rowversion,))  # noqa: S608
        for table in TABLES.values():
            for statement in (*table_key_ddl(table, "sqlite"), *rowversion_ddl(table, "sqlite")):
                self.db.execute(statement)
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")
        self.db.close()


class _PostgresSink(_Sink):
    engine = "postgresql"

    def __init__(self, url: str, *, replace: bool) -> None:
        import psycopg

        super().__init__()
        parsed = urlparse(url)
        dbname = unquote(parsed.path.lstrip("/"))
        if not dbname:
            raise FakePacsError(f"{_redact(url)}: the URL names no database")
        params = {
            "host": parsed.hostname or "localhost",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None,
        }
        params = {k: v for k, v in params.items() if v is not None}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() is None:
                admin.execute(f"CREATE DATABASE {_quote(dbname)}")
        self.db = psycopg.connect(dbname=dbname, **params)
        existing = {
            r[0]
            for r in self.db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            )
        }
        if existing & (set(TABLES) | {META_TABLE}):
            if not replace:
                self.db.close()
                raise FakePacsError(
                    f"{_redact(url)} already holds PACS tables; pass --replace to drop and remake them."
                )
            for name in (*TABLES, META_TABLE):
                self.db.execute(f"DROP TABLE IF EXISTS {_quote(name)} CASCADE")
            self.db.execute(f"DROP SEQUENCE IF EXISTS {ROWVERSION_SEQUENCE}")
            self.db.execute("DROP FUNCTION IF EXISTS pacs_rowversion_bump() CASCADE")

    def create(self) -> None:
        self.db.execute(f"CREATE SEQUENCE {ROWVERSION_SEQUENCE}")
        self.db.execute(
            "CREATE FUNCTION pacs_rowversion_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"NEW.\"tsRowVersion\" := nextval('{ROWVERSION_SEQUENCE}'); RETURN NEW; END $$"
        )
        for table in TABLES.values():
            for statement in table_ddl(table, "postgresql"):
                self.db.execute(statement)
        self.db.execute(f"CREATE TABLE {META_TABLE} (key varchar(100) PRIMARY KEY, value text)")

    def _write(self, name: str, table: Table | None, columns: dict, n: int) -> None:
        names = list(columns)
        step = max(1000, COPY_FIELDS // max(len(names), 1))
        statement = f"COPY {_quote(name)} ({', '.join(map(_quote, names))}) FROM STDIN (FREEZE true)"
        with self.db.cursor() as cursor, cursor.copy(statement) as copy:
            if table is None:
                for row in zip(*columns.values(), strict=True):
                    copy.write_row(row)
                return
            for lo in range(0, n, step):
                hi = min(n, lo + step)
                parts = [
                    _pg_strings(table.columns[c], v if v is None or np.isscalar(v) else v[lo:hi], hi - lo)
                    for c, v in columns.items()
                ]
                copy.write("\n".join(map("\t".join, zip(*parts, strict=True))) + "\n")

    def abort(self) -> None:
        # Tables were created in the one open transaction: a rollback removes them all.
        self.db.rollback()
        self.db.close()

    def finish(self) -> None:
        self.db.execute(f"SELECT setval('{ROWVERSION_SEQUENCE}', %s)", (max(self.rowversion, 1),))
        for table in TABLES.values():
            for statement in (*table_key_ddl(table, "postgresql"), *rowversion_ddl(table, "postgresql")):
                self.db.execute(statement)
        self.db.commit()
        self.db.autocommit = True
        for name, table in TABLES.items():
            # SQL Server keeps a table in the order of its clustered primary key (every PACS key is CLUSTERED);
            # PostgreSQL keeps the order rows came in, so a fake read by ranges of keys would touch pages a real
            # PACS does not. CLUSTER puts each table in key order once; VACUUM sets the visibility map, as on
            # a database that has settled.
            if table.primary_key:
                self.db.execute(f"CLUSTER {_quote(name)} USING {_quote(name + '_pkey')}")
            self.db.execute(f"VACUUM ANALYZE {_quote(name)}")
        self.db.execute(f"ANALYZE {_quote(META_TABLE)}")
        self.db.close()


def _sink_open(url: str, *, replace: bool) -> _Sink:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if not path:
            raise FakePacsError("sqlite URL names no file: sqlite:///path/to/file.sqlite3")
        return _SqliteSink(path, replace=replace)
    if url.startswith(("postgres://", "postgresql://")):
        return _PostgresSink(url, replace=replace)
    raise FakePacsError(f"unsupported URL {_redact(url)!r}: use sqlite:///path or postgres://user@host:port/dbname")


# --- The plan: every property's draws, made once -----------------------------------------------------------------


def _round100(values: np.ndarray) -> np.ndarray:
    return (np.round(np.asarray(values, dtype=np.float64) / 100) * 100).astype(np.int64)


@dataclass
class _Plan:
    """Per-property arrays over the universe (the demo parcels first, then the extra properties)."""

    data: DemoData
    years: tuple[int, ...]
    seed: int
    n_demo: int
    src: np.ndarray  # demo parcel each property copies (itself for demo parcels)
    prop_id: np.ndarray
    kind: np.ndarray  # object: demo, inactive, P, MH, A, MN, udi_child
    prop_type: np.ndarray  # object: R, P, MH, A, MN
    real: np.ndarray
    improved: np.ndarray
    value_scale: np.ndarray  # extras' values are the template's times this
    udi_parent: np.ndarray  # bool: a demo parcel with UDI children
    udi_parent_prop_id: np.ndarray  # float, NaN where none
    homestead: np.ndarray
    hstd_split: np.ndarray
    geo_id: np.ndarray
    class_cd: np.ndarray
    hood_cd: np.ndarray
    legal: np.ndarray
    coord_x: np.ndarray
    coord_y: np.ndarray
    stale_value: np.ndarray  # factor of an older supplement's values
    stale_area: np.ndarray
    second_owner: np.ndarray
    owner_share: np.ndarray  # the primary owner's percent
    acct_primary: np.ndarray
    acct_second: np.ndarray
    second_imprv: np.ndarray
    second_share: np.ndarray
    second_year: np.ndarray
    ma_split: np.ndarray
    ma_frac: np.ndarray
    garage: np.ndarray
    garage_area: np.ndarray
    porch: np.ndarray
    porch_area: np.ndarray
    extra_attr: np.ndarray
    two_segments: np.ndarray
    segment_frac: np.ndarray
    inactive_dt: np.ndarray  # datetime64[s], NaT for active
    sup_max: dict[int, np.ndarray]
    quality_cd: np.ndarray
    condition_cd: np.ndarray

    @property
    def size(self) -> int:
        return self.src.size

    @property
    def working_year(self) -> int:
        return self.data.working_year


def _plan_build(data: DemoData, *, years: tuple[int, ...], seed: int) -> _Plan:
    """Draw everything per property once, so chunks of rows can be made in any order with the same result."""
    rng = np.random.default_rng([seed, 0xFA4E])
    n = data.property_ids.size
    chars = data.chars
    # Extra properties: kinds, templates, ids above the demo's.
    kinds, types = [np.full(n, KIND_DEMO, dtype=object)], [np.full(n, "R", dtype=object)]
    for name, prop_type, share in EXTRA_KINDS:
        count = max(2, round(share * n))
        kinds.append(np.full(count, name, dtype=object))
        types.append(np.full(count, prop_type, dtype=object))
    # UDI: parents among improved demo parcels, 2-3 children each.
    improved_demo = np.flatnonzero(~chars.vacant)
    parents = np.sort(rng.choice(improved_demo, size=min(improved_demo.size, max(1, round(0.003 * n))), replace=False))
    children_per = rng.integers(2, 4, parents.size)
    child_parent = np.repeat(parents, children_per)
    kinds.append(np.full(child_parent.size, KIND_UDI_CHILD, dtype=object))
    types.append(np.full(child_parent.size, "R", dtype=object))
    kind = np.concatenate(kinds)
    prop_type = np.concatenate(types)
    size = kind.size
    extra = size - n
    src = np.concatenate([np.arange(n), rng.integers(0, n, extra - child_parent.size), child_parent])
    first_extra = int(data.property_ids.max()) + 1000
    prop_id = np.concatenate([data.property_ids, first_extra + np.cumsum(rng.integers(1, 4, extra))])

    udi_parent = np.zeros(size, dtype=bool)
    udi_parent[parents] = True
    udi_parent_prop_id = np.full(size, np.nan)
    udi_parent_prop_id[kind == KIND_UDI_CHILD] = data.property_ids[child_parent]
    value_scale = np.ones(size)
    value_scale[kind == "inactive"] = rng.uniform(0.8, 1.2, (kind == "inactive").sum())
    value_scale[kind == KIND_UDI_CHILD] = 1.0 / np.repeat(children_per, children_per)
    for name, lo, hi in (("P", 0.02, 0.2), ("MH", 0.1, 0.3), ("A", 0.01, 0.05), ("MN", 0.005, 0.05)):
        mask = kind == name
        value_scale[mask] = rng.uniform(lo, hi, mask.sum())
    real = prop_type == "R"
    improved = (real & ~chars.vacant[src] & (kind != KIND_UDI_CHILD)) | (kind == "MH")

    # Codes and texts.
    class_codes = np.asarray(CLASS_CODES, dtype=object)
    class_cd = np.where(real | (kind == "MH"), class_codes[chars.class_index[src]], None)
    class_cd[kind == "MH"] = "11"
    geo_demo = np.asarray(data.parcel_numbers, dtype=object)
    geo_id = geo_demo[src].copy()
    rank = np.arange(size) - n
    geo_id[n:] = [
        f"{g[:-3]}{r % 1000:03d}" if t == "R" else f"{t}{p}"
        for g, r, t, p in zip(
            geo_id[n:].tolist(), rank[n:].tolist(), prop_type[n:].tolist(), prop_id[n:].tolist(), strict=True
        )
    ]
    hood_codes = np.asarray(data.neighborhoods.codes, dtype=object)
    hood_cd = hood_codes[chars.neighborhood[src]].copy()
    stray = rng.random(size) < 0.01
    hood_cd[stray] = [f"{h}  " for h in hood_cd[stray].tolist()]
    hood_cd[~(real | (kind == "MH"))] = None

    legal = np.asarray(data.legal, dtype=object)[src].copy()
    mode = rng.choice(4, size=size, p=(0.9, 0.04, 0.03, 0.03))
    legal[mode > 0] = [
        _legal_mess(text, m) for text, m in zip(legal[mode > 0].tolist(), mode[mode > 0].tolist(), strict=True)
    ]
    legal[~real] = None

    # Coordinates: the writer's point (point on surface) in Washington South state plane, US feet.
    from pyproj import Transformer

    point = shapely.point_on_surface(data.polygons)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:2927", always_xy=True).transform(
        shapely.get_x(point), shapely.get_y(point)
    )
    coord_x, coord_y = np.round(np.asarray(x)[src], 6), np.round(np.asarray(y)[src], 6)
    no_coord = (rng.random(size) < 0.005) | ~(real | (kind == "MH"))
    coord_x[no_coord] = np.nan
    coord_y[no_coord] = np.nan

    homestead = real & (rng.random(size) < 0.6) & (chars.class_index[src] <= 1)
    hstd_split = homestead & (rng.random(size) < 0.05)
    second_owner = rng.random(size) < 0.10
    owner_share = np.where(rng.random(size) < 0.5, 50.0, 60.0)
    acct_primary = 2_000_000 + np.arange(size)
    acct_second = 2_000_000 + size + np.arange(size)

    vacant = chars.vacant[src]
    # Working-year inactivity: from the certified year on; older years stay active.
    inactive_dt = np.full(size, np.datetime64("NaT"), dtype="datetime64[s]")
    inactive = kind == "inactive"
    day = rng.integers(0, 300, inactive.sum()).astype("timedelta64[D]")
    inactive_dt[inactive] = (np.datetime64(f"{data.certified_year - 1}-01-15") + day).astype("datetime64[s]")

    sup_max = {}
    for year in years:
        u = np.random.default_rng([seed, year, 0x5C9]).random(size)
        sup_max[year] = np.where(u < 0.01, 2, np.where(u < 0.05, 1, 0)).astype(np.int64)

    year_built = chars.year_built[src]
    return _Plan(
        data=data,
        years=years,
        seed=seed,
        n_demo=n,
        src=src,
        prop_id=prop_id,
        kind=kind,
        prop_type=prop_type,
        real=real,
        improved=improved,
        value_scale=value_scale,
        udi_parent=udi_parent,
        udi_parent_prop_id=udi_parent_prop_id,
        homestead=homestead,
        hstd_split=hstd_split,
        geo_id=geo_id,
        class_cd=class_cd,
        hood_cd=hood_cd,
        legal=legal,
        coord_x=coord_x,
        coord_y=coord_y,
        stale_value=rng.uniform(0.85, 0.97, size),
        stale_area=rng.uniform(0.85, 0.95, size),
        second_owner=second_owner,
        owner_share=owner_share,
        acct_primary=acct_primary,
        acct_second=acct_second,
        second_imprv=improved & (rng.random(size) < 0.3) & (kind != "MH"),
        second_share=rng.uniform(0.03, 0.15, size),
        second_year=np.minimum(year_built + rng.integers(0, 25, size), data.working_year - 1),
        ma_split=rng.random(size) < 0.2,
        ma_frac=rng.uniform(0.55, 0.8, size),
        garage=rng.random(size) < 0.5,
        garage_area=rng.integers(20, 36, size) * 20,
        porch=rng.random(size) < 0.4,
        porch_area=rng.integers(4, 20, size) * 10,
        extra_attr=rng.random(size) < 0.3,
        two_segments=(rng.random(size) < 0.15) & ~vacant | (rng.random(size) < 0.15) & vacant,
        segment_frac=rng.uniform(0.5, 0.9, size),
        inactive_dt=inactive_dt,
        sup_max=sup_max,
        quality_cd=np.asarray([QUALITY_CLASS_CODES[c] for c in QUALITY_CODES], dtype=object)[chars.quality[src]],
        condition_cd=np.asarray([CONDITION_PACS_CODES[c] for c in CONDITION_CODES], dtype=object)[chars.condition[src]],
    )


def _legal_mess(text: str, mode: int) -> str:
    """A legal description as clerks typed it: a CR/LF for a space, doubled blanks, trailing blanks.

    Collapsing whitespace runs to one blank and stripping gives `text` back.
    """
    words = text.split(" ")
    cut = max(1, len(words) // 2)
    if mode == 1:
        return " ".join(words[:cut]) + "\r\n" + " ".join(words[cut:]) + "  "
    if mode == 2:
        return " " + "  ".join(words) + " "
    return " ".join(words[:cut]) + " \r\n  " + " ".join(words[cut:])


# --- Values and characteristics per year and supplement -----------------------------------------------------------


def _values(plan: _Plan, year: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(land, improvement) of properties `idx` in `year`: the demo's in its roll years, trended in others."""
    data = plan.data
    base_year = data.certified_year if year <= data.certified_year else data.working_year
    base = data.values[base_year]
    src = plan.src[idx]
    land, imprv = base.land[src], base.improvement[src]
    if year != base_year:
        factor = math.exp(data.model.trend_per_month * 12 * (year - base_year))
        land, imprv = _round100(land * factor), _round100(imprv * factor)
    extra = plan.kind[idx] != KIND_DEMO
    if extra.any():
        scale, real = plan.value_scale[idx], plan.real[idx]
        # Extra real properties scale the template's values; non-real ones have no land, their value sits
        # in the improvement columns.
        total = _round100((land + imprv) * scale)
        land = np.where(extra, np.where(real, _round100(land * scale), 0), land)
        imprv = np.where(extra, np.where(real, _round100(imprv * scale), np.maximum(total, 100)), imprv)
    return land.astype(np.int64), imprv.astype(np.int64)


def _stale(values: np.ndarray, factor: np.ndarray, level: np.ndarray) -> np.ndarray:
    """An older supplement's value: lower by `factor` per level, never equal to the current one (unless 0)."""
    old = _round100(values * factor**level)
    return np.where((level > 0) & (old == values) & (values > 0), values - 100, np.where(level > 0, old, values))


def _supplement_rows(plan: _Plan, year: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(property index, sup_num, staleness level) of every property_val row of `idx` in `year`."""
    top = plan.sup_max[year][idx]
    rows = np.repeat(idx, top + 1)
    starts = np.repeat(np.cumsum(top + 1) - (top + 1), top + 1)
    sup = np.arange(rows.size) - starts
    return rows, sup, plan.sup_max[year][rows] - sup


@dataclass
class _Chars:
    """Characteristics of rows (current or stale): what imprv, imprv_detail, imprv_attr and land_detail show."""

    living_area: np.ndarray
    bedrooms: np.ndarray
    bathrooms: np.ndarray
    land_sqft: np.ndarray


def _chars(plan: _Plan, rows: np.ndarray, level: np.ndarray) -> _Chars:
    chars = plan.data.chars
    src = plan.src[rows]
    area = chars.living_area[src].astype(np.int64)
    mh = plan.kind[rows] == "MH"
    area = np.where(mh, 700 + (plan.prop_id[rows] % 9) * 100, area)
    stale = level > 0
    old_area = np.round(area * plan.stale_area[rows] ** level).astype(np.int64)
    area = np.where(stale, np.where(old_area == area, area - 10, old_area), area)
    bedrooms = np.where(stale & (chars.bedrooms[src] > 1), chars.bedrooms[src] - 1, chars.bedrooms[src])
    bedrooms = np.where(mh, 2, bedrooms)
    baths = chars.bathrooms[src]
    baths = np.where(mh, 1.0, np.where(stale & (baths > 1), baths - 0.5, baths))
    land = chars.land_sqft[src]
    land = np.where(stale, np.round(land * 0.97, 2), land)
    return _Chars(area, bedrooms, baths, land)


# --- Rows of each table ---------------------------------------------------------------------------------------------


def _property_rows(plan: _Plan, idx: np.ndarray) -> dict:
    types = plan.prop_type[idx]
    state = plan.class_cd[idx].copy()
    state[types == "P"] = "P1"
    state[types == "A"] = "A1"
    state[types == "MN"] = "MN"
    created = (np.datetime64("1995-01-01") + (plan.prop_id[idx] % 9000).astype("timedelta64[D]")).astype(
        "datetime64[s]"
    )
    return {
        "prop_id": plan.prop_id[idx],
        "prop_type_cd": types,
        "prop_create_dt": created,
        "geo_id": plan.geo_id[idx],
        "zoning": np.where(plan.real[idx], "R1", None),
        "state_cd": state,
        "simple_geo_id": np.asarray([g.replace("-", "") for g in plan.geo_id[idx].tolist()], dtype=object),
    }


def _property_val_rows(plan: _Plan, year: int, rows: np.ndarray, sup: np.ndarray, level: np.ndarray) -> dict:
    land, imprv = _values(plan, year, rows)
    land, imprv = _stale(land, plan.stale_value[rows], level), _stale(imprv, plan.stale_value[rows], level)
    market = land + imprv
    hs, split = plan.homestead[rows], plan.hstd_split[rows]
    n = rows.size
    half = np.random.default_rng([plan.seed, year, 0x4A1]).random(plan.size)[rows] < 0.5
    # Homestead: all in the hstd columns (the other NULL or 0), ~5% split; none: hstd NULL.
    land_h = np.where(hs, np.where(split, _round100(land * 0.8), land), np.nan)
    land_n = np.where(hs, np.where(split, land - np.nan_to_num(land_h), np.where(half, np.nan, 0)), land)
    imprv_h = np.where(hs, np.where(split, _round100(imprv * 0.8), imprv), np.nan)
    imprv_n = np.where(hs, np.where(split, imprv - np.nan_to_num(imprv_h), np.where(half, np.nan, 0)), imprv)
    ag = np.where((np.random.default_rng([plan.seed, year, 0xA9]).random(plan.size)[rows] < 0.03), 0.0, np.nan)
    sup_cd = np.where(sup > 0, "SUP", None)
    sup_desc = np.where(sup > 0, "VALUE CORRECTION", None)
    sup_dt = np.where(
        sup > 0,
        (np.datetime64(f"{year}-03-01") + (sup * 37 + plan.prop_id[rows] % 30).astype("timedelta64[D]")).astype(
            "datetime64[s]"
        ),
        np.datetime64("NaT"),
    ).astype("datetime64[s]")
    inactive = plan.inactive_dt[rows] if year >= plan.data.certified_year else np.full(n, np.datetime64("NaT"))
    legal2 = np.where((plan.kind[rows] == "inactive") | (level > 0), "SUBJ TO EASEMENTS", None)
    return {
        "prop_id": plan.prop_id[rows],
        "prop_val_yr": year,
        "sup_num": sup,
        "prev_sup_num": np.where(sup > 0, sup - 1, np.nan),
        "sup_cd": sup_cd,
        "sup_desc": sup_desc,
        "sup_dt": sup_dt,
        "sup_action": np.where(sup > 0, "M", None),
        "land_hstd_val": land_h,
        "land_non_hstd_val": land_n,
        "imprv_hstd_val": imprv_h,
        "imprv_non_hstd_val": imprv_n,
        "appraised_val": market,
        "assessed_val": market,
        "market": market,
        "ag_use_val": ag,
        "ag_market": ag,
        "ag_loss": ag,
        "timber_market": ag,
        "timber_use": ag,
        "timber_loss": ag,
        "legal_desc": plan.legal[rows],
        "legal_desc_2": legal2,
        "legal_acreage": np.where(
            plan.real[rows], np.round(plan.data.chars.land_sqft[plan.src[rows]] / SQFT_PER_ACRE, 4), np.nan
        ),
        "prop_inactive_dt": inactive,
        "hood_cd": plan.hood_cd[rows],
        "property_use_cd": plan.class_cd[rows],
        "udi_parent": np.where(plan.udi_parent[rows], "T", None),
        "udi_parent_prop_id": plan.udi_parent_prop_id[rows],
        "gis_real_coord_x": plan.coord_x[rows],
        "gis_real_coord_y": plan.coord_y[rows],
        "appr_method": "C",
        "cycle": (plan.prop_id[rows] % 6) + 1,
    }


def _supp_assoc_rows(plan: _Plan, year: int, idx: np.ndarray) -> dict:
    return {"prop_id": plan.prop_id[idx], "owner_tax_yr": year, "sup_num": plan.sup_max[year][idx]}


def _owner_rows(plan: _Plan, year: int, rows: np.ndarray, sup: np.ndarray) -> dict:
    two = plan.second_owner[rows]
    first_pct = np.where(two, plan.owner_share[rows], 100.0)
    r2, s2 = rows[two], sup[two]
    return {
        "owner_id": np.concatenate([plan.acct_primary[rows], plan.acct_second[r2]]),
        "owner_tax_yr": year,
        "prop_id": np.concatenate([plan.prop_id[rows], plan.prop_id[r2]]),
        "sup_num": np.concatenate([sup, s2]),
        "pct_ownership": np.concatenate([first_pct, 100.0 - plan.owner_share[r2]]),
        "hs_prop": np.concatenate([np.where(plan.homestead[rows], "T", "F"), np.where(plan.homestead[r2], "T", "F")]),
    }


def _names_split(names: list[str]) -> tuple[list[str | None], list[str | None]]:
    """(first, last) of 'LAST, FIRST ...' names; companies and trusts without a comma have none."""
    first, last = [], []
    for name in names:
        if ", " in name and not name.endswith("TRUSTEE"):
            la, fi = name.split(", ", 1)
            first.append(fi[:30])
            last.append(la[:30])
        else:
            first.append(None)
            last.append(None)
    return first, last


def _account_rows(plan: _Plan, idx: np.ndarray) -> dict:
    names = np.asarray(plan.data.owner_names, dtype=object)[plan.src[idx]]
    two = idx[plan.second_owner[idx]]
    second_names = np.asarray(
        [f"{_LAST[(p * 7) % len(_LAST)]}, {_FIRST[(p * 11) % len(_FIRST)]}" for p in plan.prop_id[two].tolist()],
        dtype=object,
    )
    all_names = np.concatenate([names, second_names])
    first, last = _names_split(all_names.tolist())
    return {
        "acct_id": np.concatenate([plan.acct_primary[idx], plan.acct_second[two]]),
        "file_as_name": all_names,
        "first_name": np.asarray(first, dtype=object),
        "last_name": np.asarray(last, dtype=object),
        "acct_create_dt": np.datetime64("2001-07-01T00:00:00"),
    }


_LAST = ("OLSEN", "PARK", "NGUYEN", "FRANK", "REED", "STONE", "WOLFE", "BURKE", "CHASE", "DUNN", "HAYES")
_FIRST = ("ALEX", "CASEY", "JORDAN", "TAYLOR", "MORGAN", "JAMIE", "ROBIN", "LEE", "DANA")


def _address_split(addresses: list[str]) -> tuple[list, list, list, list]:
    """'LINE, CITY, ST ZIP' (the demo's mailing address) -> line, city, state, zip."""
    lines, cities, states, zips = [], [], [], []
    for address in addresses:
        line, city, state_zip = address.rsplit(", ", 2)
        state, zip_code = state_zip.split(" ")
        lines.append(line)
        cities.append(city)
        states.append(state)
        zips.append(zip_code)
    return lines, cities, states, zips


def _address_rows(plan: _Plan, idx: np.ndarray) -> dict:
    addresses = np.asarray(plan.data.owner_addresses, dtype=object)[plan.src[idx]]
    two = plan.second_owner[idx]
    acct = np.concatenate([plan.acct_primary[idx], plan.acct_second[idx[two]]])
    addr = np.concatenate([addresses, addresses[two]])
    line, city, state, zip_code = (np.asarray(v, dtype=object) for v in _address_split(addr.tolist()))
    # ~10% of accounts also have a non-primary address (an old one, or a seasonal one).
    extra = (acct * 2654435761 % 100) < 10
    n_extra = int(extra.sum())
    return {
        "acct_id": np.concatenate([acct, acct[extra]]),
        "addr_type_cd": np.concatenate([np.full(acct.size, "M", dtype=object), np.full(n_extra, "S", dtype=object)]),
        "primary_addr": np.concatenate([np.full(acct.size, "Y", dtype=object), np.full(n_extra, "N", dtype=object)]),
        "addr_line1": np.concatenate(
            [line, np.asarray([f"PO BOX {a % 9000 + 100}" for a in acct[extra].tolist()], dtype=object)]
        ),
        "addr_line2": None,
        "addr_city": np.concatenate([city, np.full(n_extra, "SPOKANE", dtype=object)]),
        "addr_state": np.concatenate([state, np.full(n_extra, "WA", dtype=object)]),
        "country_cd": "US",
        "zip": np.concatenate([zip_code, np.full(n_extra, "99201", dtype=object)]),
    }


def _situs_rows(plan: _Plan, idx: np.ndarray) -> dict:
    idx = idx[plan.real[idx] | np.isin(plan.prop_type[idx], ("MH", "P"))]
    data = plan.data
    src = plan.src[idx]
    parts = [s.split(" ") for s in np.asarray(data.situs, dtype=object)[src].tolist()]
    number = np.asarray([p[0] for p in parts], dtype=object)
    prefix = np.asarray([p[1] for p in parts], dtype=object)
    street = np.asarray([" ".join(p[2:-1]) for p in parts], dtype=object)
    suffix = np.asarray([p[-1] for p in parts], dtype=object)
    unit = np.where(
        plan.kind[idx] == KIND_DEMO,
        None,
        np.asarray([str(p % 90 + 1) for p in plan.prop_id[idx].tolist()], dtype=object),
    )
    city = np.asarray(data.situs_city, dtype=object)[src]
    zip_code = np.asarray(data.situs_zip, dtype=object)[src]
    # ~5% have 2-3 situs rows; exactly one primary, not always the first.
    h = plan.prop_id[idx] * 2246822519 % 1000
    count = np.where(h < 10, 3, np.where(h < 50, 2, 1))
    rows = np.repeat(np.arange(idx.size), count)
    k = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
    primary_at = (plan.prop_id[idx] % count)[rows]
    is_primary = k == primary_at
    alt_number = np.asarray(
        [str(int(n) + 2 * (j + 1)) for n, j in zip(number[rows].tolist(), k.tolist(), strict=True)], dtype=object
    )
    return {
        "prop_id": plan.prop_id[idx][rows],
        "situs_id": plan.prop_id[idx][rows] * 4 + k,
        "primary_situs": np.where(is_primary, "Y", "N"),
        "situs_num": np.where(is_primary, number[rows], alt_number),
        "situs_street_prefx": prefix[rows],
        "situs_street": street[rows],
        "situs_street_sufix": suffix[rows],
        "situs_unit": np.where(is_primary, unit[rows], None),
        "situs_city": city[rows],
        "situs_state": "WA",
        "situs_zip": zip_code[rows],
    }


def _improvement_rows(
    plan: _Plan,
    year: int,
    rows: np.ndarray,
    sup: np.ndarray,
    level: np.ndarray,
    sale_id: np.ndarray | int,
    imprv_total: np.ndarray,
) -> dict[str, dict]:
    """imprv, imprv_detail and imprv_attr rows of property rows (improved ones only)."""
    keep = plan.improved[rows]
    rows, sup, level, imprv_total = rows[keep], sup[keep], level[keep], imprv_total[keep]
    sale = sale_id[keep] if isinstance(sale_id, np.ndarray) else np.full(rows.size, sale_id)
    ch = _chars(plan, rows, level)
    src = plan.src[rows]
    chars = plan.data.chars
    year_built = np.where(plan.kind[rows] == "MH", 1990 + plan.prop_id[rows] % 30, chars.year_built[src])
    eff_year = np.where(plan.kind[rows] == "MH", year_built, chars.effective_year[src])
    second = plan.second_imprv[rows]
    second_val = np.where(second, np.maximum(_round100(imprv_total * plan.second_share[rows]), 0), 0)
    main_val = imprv_total - second_val
    main_id = plan.prop_id[rows] * 4 + 1
    prop = plan.prop_id[rows]
    is_mh = plan.kind[rows] == "MH"
    commercial = plan.class_cd[rows] == "51"
    main_type = np.where(is_mh, "MH", np.where(commercial, "C", "R"))
    s = np.flatnonzero(second)
    imprv = {
        "prop_id": np.concatenate([prop, prop[s]]),
        "prop_val_yr": year,
        "imprv_id": np.concatenate([main_id, main_id[s] + 1]),
        "sup_num": np.concatenate([sup, sup[s]]),
        "sale_id": np.concatenate([sale, sale[s]]),
        "imprv_type_cd": np.concatenate([main_type, np.full(s.size, "G", dtype=object)]),
        "imprv_state_cd": np.concatenate([plan.class_cd[rows], plan.class_cd[rows][s]]),
        "imprv_desc": np.concatenate(
            [
                np.where(is_mh, "MOBILE HOME", np.where(commercial, "COMMERCIAL", "RESIDENCE")),
                np.where(plan.garage[rows][s], "DETACHED GARAGE", "SHED"),
            ]
        ),
        "imprv_val": np.concatenate([main_val, second_val[s]]),
        "effective_yr_blt": np.concatenate([eff_year, plan.second_year[rows][s]]),
        "actual_year_built": np.concatenate([year_built, plan.second_year[rows][s]]),
        "num_imprv": 1,
        "stories": np.concatenate([np.where(ch.living_area > 2400, "2", "1"), np.full(s.size, "1", dtype=object)]),
    }

    # Details: MA (one or two rows summing to the living area), GAR, PORCH on the main improvement; one
    # GAR/SHED row on the second.
    area = ch.living_area
    split = plan.ma_split[rows] & (area >= 200)
    ma1 = np.where(split, np.round(area * plan.ma_frac[rows]), area).astype(np.int64)
    ma2 = area - ma1
    sp, g, p = np.flatnonzero(split), np.flatnonzero(plan.garage[rows] & ~is_mh), np.flatnonzero(plan.porch[rows])
    parts = (  # (row positions, imprv_id, det_id, type, area, yr_built)
        (np.arange(rows.size), main_id, 1, MAIN_AREA, ma1, year_built),
        (sp, main_id[sp], 2, MAIN_AREA, ma2[sp], plan.second_year[rows][sp]),
        (g, main_id[g], 3, "GAR", plan.garage_area[rows][g], year_built[g]),
        (p, main_id[p], 4, "PORCH", plan.porch_area[rows][p], year_built[p]),
        (s, main_id[s] + 1, 5, "SHED", np.where(plan.garage[rows][s], 480, 120), plan.second_year[rows][s]),
    )
    positions = np.concatenate([q[0] for q in parts])
    det_area = np.concatenate([np.asarray(q[4], dtype=np.float64) for q in parts])
    det_val = np.concatenate([np.round(np.asarray(q[4]) * (40 if q[3] == MAIN_AREA else 15)) for q in parts])
    detail = {
        "prop_id": prop[positions],
        "prop_val_yr": year,
        "imprv_id": np.concatenate([q[1] for q in parts]),
        "imprv_det_id": np.concatenate([np.full(q[0].size, q[2]) for q in parts]),
        "sup_num": sup[positions],
        "sale_id": sale[positions],
        "imprv_det_class_cd": plan.quality_cd[rows][positions],
        "imprv_det_type_cd": np.concatenate([np.full(q[0].size, q[3], dtype=object) for q in parts]),
        "imprv_det_val": det_val,
        "imprv_det_area": det_area,
        "condition_cd": plan.condition_cd[rows][positions],
        "yr_built": np.concatenate([q[5] for q in parts]),
        "imprv_det_sub_class_cd": np.where(prop[positions] % 5 == 0, "+", None),
        "actual_age": year - np.concatenate([q[5] for q in parts]),
    }

    # Attributes: bedrooms (if any), full baths, half baths (if any), and a coded one on ~30%.
    full = np.floor(ch.bathrooms).astype(np.int64)
    half = np.round((ch.bathrooms - full) * 2).astype(np.int64)
    b, h, x = np.flatnonzero(ch.bedrooms > 0), np.flatnonzero(half > 0), np.flatnonzero(plan.extra_attr[rows])
    all_rows = np.arange(rows.size)
    attr_parts = (  # positions, attr id, unit, code
        (b, ATTR_BEDROOMS, ch.bedrooms[b]),
        (all_rows, ATTR_FULL_BATHS, full),
        (h, ATTR_HALF_BATHS, half[h]),
        (x, 9, np.full(x.size, 1)),
    )
    positions = np.concatenate([q[0] for q in attr_parts])
    unit = np.concatenate([np.asarray(q[2], dtype=np.float64) for q in attr_parts])
    attr_id = np.concatenate([np.full(q[0].size, q[1]) for q in attr_parts])
    code = unit.astype(np.int64).astype(str).astype(object)
    code[attr_id == 9] = "FORCED AIR"
    attr = {
        "imprv_id": main_id[positions],
        "prop_id": prop[positions],
        "imprv_det_id": 1,
        "imprv_attr_id": attr_id,
        "prop_val_yr": year,
        "sup_num": sup[positions],
        "sale_id": sale[positions],
        "i_attr_val_id": unit.astype(np.int64),
        "i_attr_val_cd": code,
        "imprv_attr_val": np.nan,
        "i_attr_unit": unit,
        "i_attr_up": np.nan,
        "i_attr_factor": 1.0,
    }
    return {"imprv": imprv, "imprv_detail": detail, "imprv_attr": attr}


def _land_rows(
    plan: _Plan,
    year: int,
    rows: np.ndarray,
    sup: np.ndarray,
    level: np.ndarray,
    sale_id: np.ndarray | int,
    land: np.ndarray,
) -> dict:
    keep = plan.real[rows] & (plan.kind[rows] != KIND_UDI_CHILD)
    rows, sup, level, land = rows[keep], sup[keep], level[keep], land[keep]
    sale = sale_id[keep] if isinstance(sale_id, np.ndarray) else np.full(rows.size, sale_id)
    ch = _chars(plan, rows, level)
    cents = np.round(ch.land_sqft * 100).astype(np.int64)
    two = plan.two_segments[rows]
    first = np.where(two, np.floor(cents * plan.segment_frac[rows]), cents).astype(np.int64)
    t = np.flatnonzero(two)
    sqft = np.concatenate([first, (cents - first)[t]]) / 100.0
    positions = np.concatenate([np.arange(rows.size), t])
    # Acres in ten-thousandths, the segments' summing to the parcel's acreage as the demo writes it ("%.4f" of
    # sqft / 43,560), so a loader that sums size_acres gets the demo's acreage to the last digit.
    total_acres = np.asarray(np.char.mod("%.4f", ch.land_sqft / SQFT_PER_ACRE), dtype=float) * 10_000
    total_acres = np.round(total_acres).astype(np.int64)
    first_acres = np.where(two, np.round(first / 100.0 / SQFT_PER_ACRE * 10_000), total_acres).astype(np.int64)
    acres = np.concatenate([first_acres, (total_acres - first_acres)[t]]) / 10_000.0
    value_first = np.where(two, _round100(land * plan.segment_frac[rows]), land)
    value = np.concatenate([value_first, (land - value_first)[t]])
    return {
        "prop_id": plan.prop_id[rows][positions],
        "prop_val_yr": year,
        "land_seg_id": plan.prop_id[rows][positions] * 4
        + np.concatenate([np.zeros(rows.size, np.int64), np.ones(t.size, np.int64)])
        + 1,
        "sup_num": sup[positions],
        "sale_id": sale[positions],
        "land_type_cd": np.concatenate(
            [np.full(rows.size, "PRIM", dtype=object), np.full(t.size, "RES", dtype=object)]
        ),
        "state_cd": plan.class_cd[rows][positions],
        "size_acres": acres,
        "size_square_feet": sqft,
        "effective_front": np.nan,
        "effective_depth": np.nan,
        "mkt_unit_price": np.round(value / np.maximum(sqft, 1), 2),
        "land_seg_mkt_val": value,
        "ag_apply": "F",
    }


def _profile_rows(plan: _Plan, year: int, idx: np.ndarray) -> dict:
    idx = idx[plan.real[idx] | (plan.kind[idx] == "MH")]
    src = plan.src[idx]
    chars = plan.data.chars
    ch = _chars(plan, idx, np.zeros(idx.size, np.int64))
    improved = plan.improved[idx]
    none = np.nan
    return {
        "prop_id": plan.prop_id[idx],
        "prop_val_yr": year,
        "state_cd": plan.class_cd[idx],
        "class_cd": np.where(improved, plan.quality_cd[idx], None),
        "yr_blt": np.where(improved, chars.year_built[src], none),
        "living_area": np.where(improved, ch.living_area, none),
        "land_sqft": ch.land_sqft,
        "land_acres": np.round(ch.land_sqft / SQFT_PER_ACRE, 4),
        "neighborhood": np.asarray([h.strip() if h else h for h in plan.hood_cd[idx].tolist()], dtype=object),
        "eff_yr_blt": np.where(improved, chars.effective_year[src], none),
        "condition_cd": np.where(improved, plan.condition_cd[idx], None),
        "num_imprv": np.where(improved, 1 + plan.second_imprv[idx], 0),
        "imprv_type_cd": np.where(improved, "R", None),
        "imprv_det_sub_class_cd": None,
    }


def _year_rows(plan: _Plan, year: int, idx: np.ndarray) -> Iterator[tuple[str, dict]]:
    """Every versioned table's rows of properties `idx` in `year`."""
    rows, sup, level = _supplement_rows(plan, year, idx)
    pv = _property_val_rows(plan, year, rows, sup, level)
    yield "property_val", pv
    yield "prop_supp_assoc", _supp_assoc_rows(plan, year, idx)
    yield "owner", _owner_rows(plan, year, rows, sup)
    imprv_total = np.nan_to_num(pv["imprv_hstd_val"]) + np.nan_to_num(pv["imprv_non_hstd_val"])
    land_total = np.nan_to_num(pv["land_hstd_val"]) + np.nan_to_num(pv["land_non_hstd_val"])
    yield from _improvement_rows(plan, year, rows, sup, level, 0, imprv_total.astype(np.int64)).items()
    yield "land_detail", _land_rows(plan, year, rows, sup, level, 0, land_total.astype(np.int64))
    yield "property_profile", _profile_rows(plan, year, idx)
    exempt = idx[plan.homestead[idx] & (plan.prop_id[idx] % 50 == 0)]
    yield (
        "property_exemption",
        {
            "prop_id": plan.prop_id[exempt],
            "owner_id": plan.acct_primary[exempt],
            "exmpt_tax_yr": year,
            "owner_tax_yr": year,
            "exmpt_type_cd": "SNR/DSBL",
            "effective_dt": np.datetime64(f"{year - 3}-01-01T00:00:00"),
            "termination_dt": np.datetime64("NaT"),
            "sup_num": plan.sup_max[year][exempt],
            "exemption_pct": 100.0,
        },
    )


# --- Sales --------------------------------------------------------------------------------------------------------


@dataclass
class _SaleSet:
    """All conveyances: the demo's, then the extra ones (multi-parcel, NULL price, unknown code)."""

    coo_id: np.ndarray
    date: np.ndarray  # datetime64[D]
    price: np.ndarray  # float, NaN = NULL
    code: np.ndarray  # object
    deed: np.ndarray  # object
    excise: np.ndarray  # float, NaN = NULL
    demo: np.ndarray  # bool
    link_sale: np.ndarray  # per link: index into the sales
    link_parcel: np.ndarray  # per link: universe index


def _sales_build(plan: _Plan) -> _SaleSet:
    data, rng = plan.data, np.random.default_rng([plan.seed, 0x5A1E])
    sales = data.sales
    m = sales.parcel.size
    codes = np.asarray([k.code for k in SALE_KINDS], dtype=object)[sales.kind] if m else np.zeros(0, dtype=object)
    excise = np.asarray([float(re.sub(r"\D", "", e) or "nan") for e in sales.excise_number.tolist()])
    next_id = int(sales.sale_id.max()) + 1 if m else 1_000_000
    years = tuple(range(data.working_year - 5, data.working_year))
    n = plan.n_demo

    def dates(count: int) -> np.ndarray:
        start = np.datetime64(f"{years[0]}-01-01")
        return start + rng.integers(0, 365 * len(years), count).astype("timedelta64[D]")

    # Multi-parcel: 2-3 parcels of one neighborhood (neighbors in parcel order), one total price.
    multi = max(2, round(0.02 * m))
    first = rng.integers(0, max(n - 3, 1), multi)
    width = rng.integers(2, 4, multi)
    link_parcel = [sales.parcel]
    link_sale = [np.arange(m)]
    for j, (f, w) in enumerate(zip(first.tolist(), width.tolist(), strict=True)):
        group = np.arange(f, min(f + w, n))
        link_parcel.append(group)
        link_sale.append(np.full(group.size, m + j))
    multi_price = np.asarray(
        [
            data.values[data.working_year].market[np.arange(f, min(f + w, n))].sum()
            for f, w in zip(first.tolist(), width.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    # NULL prices and unknown ratio codes: ~0.3% of the demo's count each, one parcel.
    odd = max(2, round(0.003 * m))
    odd_parcels = rng.integers(0, n, 2 * odd)
    link_parcel.append(odd_parcels)
    link_sale.append(m + multi + np.arange(2 * odd))
    odd_price = _round100(data.values[data.working_year].market[odd_parcels] * rng.uniform(0.9, 1.1, 2 * odd)).astype(
        float
    )
    odd_price[:odd] = np.nan
    extra = multi + 2 * odd
    return _SaleSet(
        coo_id=np.concatenate([sales.sale_id, next_id + np.arange(extra) * 3]),
        date=np.concatenate([sales.date.astype("datetime64[D]"), dates(extra)]),
        price=np.concatenate([sales.price.astype(np.float64), _round100(multi_price).astype(float), odd_price]),
        code=np.concatenate(
            [
                codes,
                np.full(multi + odd, MULTI_PARCEL_RATIO_CODE, dtype=object),
                np.full(odd, UNKNOWN_RATIO_CODE, dtype=object),
            ]
        ),
        deed=np.concatenate([sales.deed.astype(object), np.full(extra, "SWD", dtype=object)]),
        excise=np.concatenate([excise, np.full(extra, np.nan)]),
        demo=np.concatenate([np.ones(m, bool), np.zeros(extra, bool)]),
        link_sale=np.concatenate(link_sale),
        link_parcel=np.concatenate(link_parcel),
    )


def _sale_rows(plan: _Plan, s: _SaleSet) -> Iterator[tuple[str, dict]]:
    h = s.coo_id * 2654435761 % 1000
    dt = s.date.astype("datetime64[s]")
    consideration = np.asarray([None if math.isnan(p) else f"${p:,.2f}" for p in s.price.tolist()], dtype=object)
    comment = np.where(h < 50, "VERIFIED WITH BUYER\r\nSEE FILE", np.where(h < 150, "  EXCISE OK ", None))
    yield (
        "chg_of_owner",
        {
            "chg_of_owner_id": s.coo_id,
            "deed_type_cd": s.deed,
            "deed_num": np.asarray([f"{int(c)}" for c in s.coo_id.tolist()], dtype=object),
            "deed_dt": dt,
            "coo_sl_dt": dt,
            "consideration": consideration,
            "comment": comment,
            "recorded_dt": (s.date + (h % 10 + 1).astype("timedelta64[D]")).astype("datetime64[s]"),
            "excise_number": s.excise,
            "override_excise": False,
        },
    )
    adjusted = np.where(h % 20 == 7, np.nan, s.price)
    yield (
        "sale",
        {
            "chg_of_owner_id": s.coo_id,
            "sl_ratio_type_cd": s.code,
            "sl_type_cd": "SALE",
            "sl_price": s.price,
            "sl_dt": dt,
            "adjusted_sl_price": np.where(s.demo, adjusted, s.price),
            "sl_ratio_cd_reason": np.asarray(
                [None if c == "00" else RATIO_TYPES.get(c, ("UNKNOWN",))[0] for c in s.code.tolist()], dtype=object
            ),
            "confidential_sale": "F",
            "land_only_sale": False,
        },
    )
    # seq_num: 0 for each property's latest conveyance (by date, then id), 1 for the one before, ...
    order = np.lexsort((-s.coo_id[s.link_sale], -s.date[s.link_sale].astype(np.int64), s.link_parcel))
    sorted_parcel = s.link_parcel[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_parcel)) + 1]
    seq = np.empty(order.size, np.int64)
    seq[order] = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    yield (
        "chg_of_owner_prop_assoc",
        {
            "chg_of_owner_id": s.coo_id[s.link_sale],
            "prop_id": plan.prop_id[s.link_parcel],
            "seq_num": seq,
            "sup_tax_yr": (s.date[s.link_sale].astype("datetime64[Y]").astype(np.int64) + 1970),
            "bPrimary": True,
            "continue_current_use": False,
        },
    )


def _snapshot_rows(plan: _Plan, s: _SaleSet) -> Iterator[tuple[str, dict]]:
    """Characteristics frozen at a sale: ~25% of sold improved demo parcels, latest sale, working year."""
    data = plan.data
    latest = data.latest_sale
    parcels = np.flatnonzero((latest >= 0) & plan.improved[: plan.n_demo])
    parcels = parcels[plan.prop_id[parcels] % 4 == 1]
    year = data.working_year
    sup = plan.sup_max[year][parcels]
    sale_id = data.sales.sale_id[latest[parcels]]
    level = np.full(parcels.size, 2)  # older than any stale supplement
    land, imprv = _values(plan, year, parcels)
    land, imprv = _stale(land, plan.stale_value[parcels], level), _stale(imprv, plan.stale_value[parcels], level)
    yield from _improvement_rows(plan, year, parcels, sup, level, sale_id, imprv).items()
    yield "land_detail", _land_rows(plan, year, parcels, sup, level, sale_id, land)


# --- Lookups and the meta table ---------------------------------------------------------------------------------------


def _lookup_rows(plan: _Plan) -> Iterator[tuple[str, dict]]:
    data, years = plan.data, plan.years
    yield "pacs_system", {"id": np.array([1]), "tax_yr": data.working_year - 1, "appr_yr": data.working_year}
    y = np.asarray(years)
    yield (
        "pacs_year",
        {
            "tax_yr": y,
            "certification_dt": np.where(
                y < data.working_year,
                np.asarray([f"{v}-11-30T00:00:00" for v in years], dtype="datetime64[s]"),
                np.datetime64("NaT"),
            ).astype("datetime64[s]"),
            "notice_dt": np.asarray([f"{v}-06-01T00:00:00" for v in years], dtype="datetime64[s]"),
            "prev_reappraised_yr": y - 1,
        },
    )
    yield (
        "property_type",
        {
            "prop_type_cd": np.asarray(list(PROPERTY_TYPES), dtype=object),
            "prop_type_desc": np.asarray(list(PROPERTY_TYPES.values()), dtype=object),
        },
    )
    yield (
        "property_use",
        {
            "property_use_cd": np.asarray(list(CLASS_DESCRIPTIONS), dtype=object),
            "property_use_desc": np.asarray(list(CLASS_DESCRIPTIONS.values()), dtype=object),
            "dor_use_code": np.asarray(list(CLASS_DESCRIPTIONS), dtype=object),
        },
    )
    codes = list(RATIO_TYPES)
    yield (
        "sale_ratio_type",
        {
            "sl_ratio_type_cd": np.asarray(codes, dtype=object),
            "sl_ratio_desc": np.asarray([RATIO_TYPES[c][0] for c in codes], dtype=object),
            "invalid_sale": np.asarray([RATIO_TYPES[c][1] for c in codes]),
            "requires_reason": np.asarray([RATIO_TYPES[c][1] for c in codes]),
        },
    )
    yield (
        "deed_type",
        {
            "deed_type_cd": np.asarray(list(DEED_TYPES), dtype=object),
            "deed_type_desc": np.asarray(list(DEED_TYPES.values()), dtype=object),
            "sys_flag": "T",
        },
    )
    yield (
        "attribute",
        {
            "imprv_attr_id": np.asarray(list(ATTRIBUTES)),
            "imprv_attr_desc": np.asarray(list(ATTRIBUTES.values()), dtype=object),
            "sys_flag": "T",
        },
    )
    yield (
        "exmpt_type",
        {
            "exmpt_type_cd": np.asarray(["SNR/DSBL", "HS", "EX"], dtype=object),
            "exmpt_desc": np.asarray(["SENIOR / DISABLED", "HOMESTEAD", "EXEMPT PROPERTY"], dtype=object),
            "spl_exmpt": "F",
            "freeze_flag": np.asarray([True, False, False]),
        },
    )
    nb = data.neighborhoods
    hood = np.tile(np.asarray(nb.codes, dtype=object), len(years))
    yield (
        "neighborhood",
        {
            "hood_cd": hood,
            "hood_yr": np.repeat(y, len(nb.codes)),
            "hood_name": np.tile(np.asarray(nb.names, dtype=object), len(years)),
            "hood_land_pct": 100.0,
            "hood_imprv_pct": 100.0,
            "sys_flag": "F",
        },
    )


def _meta_rows(plan: _Plan, *, properties: int) -> dict:
    parameters = {
        "generator": "ingestion.pacs.fake.fake_pacs_create",
        "properties": properties,
        "years": list(plan.years),
        "seed": plan.seed,
        "working_year": plan.working_year,
        "certified_year": plan.data.certified_year,
    }
    codes = {
        "quality": QUALITY_CLASS_CODES,
        "condition": CONDITION_PACS_CODES,
        "attributes": {"bedrooms": ATTR_BEDROOMS, "full_baths": ATTR_FULL_BATHS, "half_baths": ATTR_HALF_BATHS},
        "main_area": MAIN_AREA,
        "unknown_ratio_code": UNKNOWN_RATIO_CODE,
    }
    items = {"demo_model": plan.data.model_json(seed=plan.seed), "parameters": parameters, "codes": codes}
    return {"key": list(items), "value": [json.dumps(v, sort_keys=True) for v in items.values()]}


# --- The entry point -----------------------------------------------------------------------------------------------


def _sink_fill(sink: _Sink, *, properties: int, years: tuple[int, ...], seed: int) -> tuple[DemoData, _Plan]:
    """Generate the demo county and write every table: lookups, properties, the versioned tables year by year in
    chunks of properties, sales and snapshots, the meta table; then keys, indexes and triggers."""
    data = demo_data_generate(parcels=properties, seed=seed, working_year=years[-1])
    plan = _plan_build(data, years=years, seed=seed)
    sink.create()
    for name, columns in _lookup_rows(plan):
        sink.write(name, columns)
    for lo in range(0, plan.size, CHUNK_PROPERTIES):
        idx = np.arange(lo, min(plan.size, lo + CHUNK_PROPERTIES))
        sink.write("property", _property_rows(plan, idx))
        sink.write("account", _account_rows(plan, idx))
        sink.write("address", _address_rows(plan, idx))
        sink.write("situs", _situs_rows(plan, idx))
    for year in years:
        for lo in range(0, plan.size, CHUNK_PROPERTIES):
            for name, columns in _year_rows(plan, year, np.arange(lo, min(plan.size, lo + CHUNK_PROPERTIES))):
                sink.write(name, columns)
    sale_set = _sales_build(plan)
    for name, columns in (*_sale_rows(plan, sale_set), *_snapshot_rows(plan, sale_set)):
        sink.write(name, columns)
    sink.write(META_TABLE, _meta_rows(plan, properties=properties))
    sink.finish()
    return data, plan


def fake_pacs_create(
    url: str, *, properties: int, years: list[int], seed: int, replace: bool = False
) -> FakePacsSummary:
    """Make a PACS-shaped database at `url` (sqlite:///file or postgres://user@host:port/db) from the demo county
    of (`properties`, `seed`, working year = max(`years`)). Same arguments, same rows.

    Refuses (FakePacsError) a target that already has PACS tables unless `replace`; never touches Django's
    databases. On a failure nothing half made is left (the transaction rolls back, the SQLite file goes).
    """
    started = time.perf_counter()
    if not years:
        raise FakePacsError("give at least one roll year")
    years_t = tuple(sorted({int(y) for y in years}))
    if not 1 <= properties <= 1_000_000:
        raise FakePacsError(f"properties must be between 1 and 1,000,000 (got {properties})")
    if not 2001 <= years_t[-1] <= 2200 or years_t[0] < 1900:
        raise FakePacsError(f"roll years must lie in 1900-2200, the working year from 2001 (got {list(years_t)})")
    sink = _sink_open(url, replace=replace)  # before the generation: refuse early
    try:
        data, plan = _sink_fill(sink, properties=properties, years=years_t, seed=seed)
    except BaseException:
        sink.abort()
        raise

    kinds = {k: plan.prop_id[plan.kind == k] for k in (*(e[0] for e in EXTRA_KINDS), KIND_UDI_CHILD)}
    counts = {name: sink.counts.get(name, 0) for name in TABLES}
    return FakePacsSummary(
        url=_redact(url),
        engine=sink.engine,
        working_year=data.working_year,
        certified_year=data.certified_year,
        years=years_t,
        seed=seed,
        counts=counts,
        seconds=time.perf_counter() - started,
        demo_property_ids=data.property_ids.copy(),
        extra_property_ids=kinds,
        udi_parent_ids=plan.prop_id[plan.udi_parent],
    )
