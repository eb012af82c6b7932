"""Read one roll year of a county's PACS, a range of `prop_id`s at a time, into TerraFusion's records.

Each range is read with a fixed handful of set-based queries, whatever its size: never a query per property. The
database shapes the rows: a row a property (the current supplement's property and values; its primary situs; its
owner of record; its main improvement; its land totals), a row an improvement (its largest main-area detail, with
the property's living area; its bedroom and bathroom attributes) and a row a sale, so what crosses to Python is
about what is loaded. The SQL is plain ANSI (joins, CASE, ROW_NUMBER, GROUP BY, a correlated COUNT),
so the same text runs on SQL Server, PostgreSQL and SQLite through the alias's Django cursor; only the digest
function differs (md5, HASHBYTES, a registered function on SQLite).

Every query also returns a digest of each property's rows, computed by the database, and a property's row hash
is made from them. A reload or sync reads digests first and reads whole only the properties whose hash differs
from the one TerraFusion stored: an unchanged PACS costs the database's work and a few bytes a property.

The quirks of SCHEMA.md are handled here, in one place:

- the current version of a property for the year is the supplement named by `prop_supp_assoc`; every table
  versioned by supplement is joined on it, so older supplements are never read;
- improvements, their details and attributes and land segments are read with `sale_id = 0` (the live record;
  rows with a sale id are snapshots frozen at a sale);
- CHAR codes are blank-padded and free text holds CR/LF and stray blanks: every text is trimmed and its
  whitespace collapsed; NULL money counts as 0 where it is summed (as PACS's own views do);
- a property is loaded when its type is one the mapping loads, its `prop_inactive_dt` is empty and it is not
  an undivided-interest child (`udi_parent_prop_id` set: the parent carries the parcel and its whole values,
  the children's are shares of them); the rest are counted (and deactivated in TerraFusion by the writer, if
  they were loaded before);
- the main improvement is the one with the highest value; living area is the sum of the main-area details
  of every live improvement; quality and condition come from the main improvement's largest main-area detail;
- a sale is a `chg_of_owner` with its `sale` row, on each parcel `chg_of_owner_prop_assoc` links it to; one
  linked to several parcels is a multi-parcel sale on each;
- state-plane coordinates become lon/lat with pyproj.

A record that fails a check is a `Reject` (its PACS key, field, reason, value) and is left out; the rest of
the chunk goes on.
"""

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any

from django.db import DatabaseError

from ingestion.pacs.mapping import FIELD_SOURCES, PacsMapping
from properties.fields import VALUE_FIELDS
from properties.services import BULK_PROPERTY_FIELDS

# The parcel fields a PACS record fills: what the writer takes (properties.services.BULK_PROPERTY_FIELDS), the
# neighborhood by its code, without the two it sets itself (the roll year of the values, the active flag).
PROPERTY_COLUMNS = tuple(
    "neighborhood_code" if name == "neighborhood" else name
    for name in BULK_PROPERTY_FIELDS
    if name not in ("value_year", "is_active")
)
MAX_MONEY = 10**14  # NUMERIC(14)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # prop_id is an INT
READER_VERSION = 7  # in every row hash: a change to how records are shaped below makes the next load read all again
STALE_BY_ID = 2_000  # up to this many changed properties in a range are read again by id, more by the range


@dataclass(frozen=True)
class Reject:
    """A PACS record that was not loaded: where it is in PACS, which field, why, and the value at fault."""

    table: str
    key: str
    field: str
    reason: str
    value: str = ""


@dataclass
class PropertyRecord:
    property_id: int
    values: dict[str, Any]  # PROPERTY_COLUMNS -> value
    row_hash: str = ""  # the digest of the PACS rows it was made from (and of the mapping): see PacsReader.chunk


@dataclass
class SaleRecord:
    property_id: int
    sale_id: int
    values: dict[str, Any]  # SALE_EDITABLE_FIELDS but sale_id -> value


@dataclass
class Chunk:
    """What one range of prop_ids holds for the roll year."""

    properties: list[PropertyRecord] = field(default_factory=list)
    sales: list[SaleRecord] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0  # property rows of the year read (every type, active or not)
    skipped_types: int = 0  # of a type the mapping does not load
    inactive: int = 0  # prop_inactive_dt set
    udi_children: int = 0  # undivided-interest children (udi_parent_prop_id set): the parent is the parcel
    neighborhoods: dict[str, str] = field(default_factory=dict)  # code -> name, of the loaded properties
    unmapped: Counter = field(default_factory=Counter)  # "<field> <code>" -> properties with a code not mapped
    unchanged: list[int] = field(default_factory=list)  # prop_ids loaded whose row hash is the one TerraFusion has


def text(value: Any) -> str:
    """A PACS text as TerraFusion stores it: trimmed, runs of whitespace (CR/LF included) made one space."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def code(value: Any) -> str:
    return "" if value is None else str(value).strip()


def whole(value: Any) -> int | None:
    """A NUMERIC(n) or INT as an int (None stays None)."""
    if value is None or isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value.to_integral_value())
    return int(Decimal(str(value)).to_integral_value())


def _number(value: Any) -> Decimal | int:
    """A number to add up exactly (drivers give Decimal or int; SQLite may give a float)."""
    return value if isinstance(value, Decimal | int) else Decimal(str(value))


def decimal(value: Any, places: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places))


def day(value: Any) -> date | None:
    """A DATETIME as a date (SQLite hands it over as text)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


class PacsReader:
    """The queries of one mapping and roll year; `chunk(low, high)` reads and checks one range of prop_ids."""

    def __init__(self, connection, mapping: PacsMapping, roll_year: int):
        self.connection = connection
        self.mapping = mapping
        self.roll_year = roll_year
        self._transformer = None
        self._ratio_codes: set[str] | None = None
        self._hood_names: dict[str, str] | None = None
        self._getters: dict[str, Any] = {}
        self._supplements: list[int] | None = None
        self._sql: dict[bool, dict[str, str]] = {}  # full? -> query name -> SQL
        self._names: dict[str, list[str]] = {}  # query name -> the record keys of its columns
        self._sqlite = None  # the SQLite connection tf_md5 is registered on

    # --- SQL ------------------------------------------------------------------------------------------------

    def _mapped(self, table: str, alias: str) -> list[str]:
        return [ref.sql(alias) for ref in self.mapping.columns(table)]

    def _query(self, sql: str, params: list | None) -> list[tuple]:
        """Rows of a query; `params` None for SQL with its values written in (a `%` in it is then plain text)."""
        if self.connection.vendor == "sqlite":
            self.connection.ensure_connection()
            if self.connection.connection is not self._sqlite:
                self._sqlite = self.connection.connection
                self._sqlite.create_function("tf_md5", -1, _md5, deterministic=True)
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def supplements(self) -> list[int]:
        """The supplement numbers current in the year (prop_supp_assoc's), read once."""
        if self._supplements is None:
            rows = self._query("SELECT DISTINCT sup_num FROM prop_supp_assoc WHERE owner_tax_yr = %s", [self.roll_year])
            self._supplements = sorted(int(row[0]) for row in rows) or [0]
        return self._supplements

    def prop_id_bounds(self) -> tuple[int, int, int] | None:
        """(lowest prop_id, highest prop_id, count) of the year's current properties, or None when there are none."""
        rows = self._query(
            "SELECT MIN(prop_id), MAX(prop_id), COUNT(*) FROM prop_supp_assoc WHERE owner_tax_yr = %s",
            [self.roll_year],
        )
        low, high, count = rows[0]
        return None if not count else (int(low), int(high), int(count))

    def prop_ids(self) -> list[int]:
        """The year's current prop_ids, in order (to cut a load into ranges of equal size)."""
        rows = self._query(
            "SELECT prop_id FROM prop_supp_assoc WHERE owner_tax_yr = %s ORDER BY prop_id", [self.roll_year]
        )
        return [int(row[0]) for row in rows]

    def years(self) -> list[int]:
        """The roll years PACS holds (prop_supp_assoc's), oldest first."""
        return [int(row[0]) for row in self._query("SELECT DISTINCT owner_tax_yr FROM prop_supp_assoc", [])]

    def ratio_codes(self) -> set[str]:
        if self._ratio_codes is None:
            self._ratio_codes = {
                code(row[0]) for row in self._query("SELECT sl_ratio_type_cd FROM sale_ratio_type", [])
            }
        return self._ratio_codes

    def hood_names(self) -> dict[str, str]:
        if self._hood_names is None:
            rows = self._query("SELECT hood_cd, hood_name FROM neighborhood WHERE hood_yr = %s", [self.roll_year])
            self._hood_names = {code(hood): text(name) for hood, name in rows}
        return self._hood_names

    def columns_check(self) -> list[str]:
        """Problems of the mapping with this live database: each mapped table's columns are selected, no rows.

        A table or column this PACS lacks is a problem of the mapping; a database that does not answer at all is
        not (the caller's DatabaseError), told apart by a plain query once a probe fails.
        """
        problems = []
        for table in sorted({ref.table for refs in self.mapping.fields.values() for ref in refs}):
            columns = ", ".join(ref.column for ref in self.mapping.columns(table))
            try:
                self._probe(f"SELECT {columns} FROM {table} WHERE 1 = 0")
            except DatabaseError as exc:
                self._query("SELECT 1", [])  # raises when the database itself is not answering
                problems.append(f"PACS table {table} ({columns}): {str(exc).strip().splitlines()[0]}")
        return problems

    def _probe(self, sql: str) -> None:
        """Run a query that may fail without spoiling the transaction it runs in (a savepoint, when in one)."""
        if not self.connection.in_atomic_block:
            self._query(sql, [])
            return
        savepoint = self.connection.savepoint()
        try:
            self._query(sql, [])
        except DatabaseError:
            self.connection.savepoint_rollback(savepoint)
            raise
        self.connection.savepoint_commit(savepoint)

    # --- one chunk ------------------------------------------------------------------------------------------

    def chunk(self, low: int, high: int, known: dict[int, str] | None = None) -> Chunk:
        """The records of the prop_ids in [low, high).

        `known`: the row hashes TerraFusion stored for the range's parcels (active, of this roll year). When given,
        the range is first read as digests only (every query's rows hashed by the database, a few bytes a
        property); a property whose hash is the stored one is `unchanged` and read no further, and only the others
        are read whole. A first load (nothing known) reads the range whole at once.
        """
        chunk = Chunk()
        # prop_id is an INT: bounds past it are clamped (an open range's 64-bit bound would be a DECIMAL literal
        # on SQL Server, which can keep it from seeking the key).
        low, high = max(int(low), INT_MIN), min(int(high), INT_MAX + 1)
        window = f"{{a}}.prop_id >= {low} AND {{a}}.prop_id < {high}"
        rows = self._read(window, full=not known)
        loaded = self._triage(rows.base, chunk)
        if known:
            stale = []
            for prop_id in loaded:
                if known.get(prop_id) == rows.hash(prop_id, self._fingerprint):
                    chunk.unchanged.append(prop_id)
                else:
                    stale.append(prop_id)
            if not stale:
                return chunk
            if len(stale) <= STALE_BY_ID:
                window = f"{{a}}.prop_id IN ({', '.join(str(prop_id) for prop_id in stale)})"
            rows = self._read(window, full=True)
            loaded = set(stale) & self._triage(rows.base, Chunk())  # as they are now, if they changed since
        base = {row[0]: row for row in rows.base if row[0] in loaded}
        coordinates = self._coordinates(base)
        for prop_id, row in base.items():
            built = self._property(prop_id, self._record(prop_id, row, rows), coordinates, chunk)
            if built is not None:
                built.values["exemptions"] = rows.exemptions_text(prop_id)
                built.row_hash = rows.hash(prop_id, self._fingerprint)
                chunk.properties.append(built)
        self._sales(rows.sales, {record.property_id for record in chunk.properties}, chunk)
        return chunk

    def _triage(self, base: list[tuple], chunk: Chunk) -> set[int]:
        """Count the year's properties of the range; the prop_ids of those that load."""
        loaded = set()
        chunk.read = len(base)
        for prop_id, prop_type, inactive, udi_parent, *_ in base:
            if code(prop_type) not in self.mapping.property_types:
                chunk.skipped_types += 1
            elif inactive not in (None, ""):
                chunk.inactive += 1
            elif udi_parent is not None:
                chunk.udi_children += 1  # an undivided interest: its parent carries the parcel and its values
            else:
                loaded.add(prop_id)
        return loaded

    @cached_property
    def _fingerprint(self) -> str:
        """What shapes a record besides PACS's rows (the reader's version, the mapping, the sale ratio codes PACS
        knows, which decide which sales are rejected): part of every row hash, so a change of any makes the next
        load read every property again. Its digest, not the text itself (the mapping's repr, 1.8 KB), goes into each of
        a range's 25,000 row hashes: the million-property reload went from 31.7 s to 30.0 s with it."""
        mapping = dataclasses.replace(self.mapping, path=None, sync_schedule=None)  # its repr leaves out lines
        text = f"{READER_VERSION} {mapping!r} {self.roll_year} {sorted(self.ratio_codes())}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def _record(self, prop_id: int, row: tuple, rows: "_Rows") -> dict[str, Any]:
        """The property's columns from every query, by `<alias>.<column>` (the names the field getters use)."""
        record = dict(zip(self._names["base"], row, strict=True))
        for name, found in zip(_PER_PROPERTY, rows.of(prop_id), strict=True):
            if found is not None:
                record.update(zip(self._names[name], found, strict=True))
        return record

    # --- the queries: rows shaped by the database ---------------------------------------------------------------

    def _read(self, window: str, *, full: bool) -> "_Rows":
        """Run the range's queries. `full`: every column; else the prop_ids and digests only (and the few
        columns that say whether a property loads, for the counts)."""
        rows = _Rows()
        current: dict[int, int] = {}  # prop_id -> the year's current sup_num
        for name, sql in self._queries(full).items():
            result = self._query(_WINDOW.sub(lambda match: window.format(a=match.group(1)), sql), None)
            if name in _SUPPLEMENTED:  # rows of every supplement of the year, the sup_num last: the current ones
                result = [row[:-1] for row in result if current.get(row[0]) == row[-1]]
            if name == "base":
                rows.base = result
                rows.digests = {row[0]: row[4] for row in result}
                current = {row[0]: row[-1] for row in result}
            elif name in ("sales", "exemptions"):  # rows a property may have several of
                for row in result:
                    getattr(rows, name).setdefault(row[0], []).append(row)
            elif name in ("details", "attributes"):  # a row an improvement
                setattr(rows, name, {(row[0], row[1]): row for row in result})
                if name == "details":  # each row carries its property's living area
                    rows.area = {row[0]: (row[0], row[3]) for row in result}
            else:
                setattr(rows, name, {row[0]: row for row in result})
        return rows

    def _queries(self, full: bool) -> dict[str, str]:
        """The SQL of each query (`{window}` to be filled with the range's condition on alias `{a}`), made once."""
        cached = self._sql.get(full)
        if cached is None:
            cached = self._sql[full] = self._queries_make(full)
        return cached

    def _queries_make(self, full: bool) -> dict[str, str]:
        year, supplements = int(self.roll_year), ", ".join(str(number) for number in self.supplements())
        main_types = ", ".join(_literal(value) for value in self.mapping.main_area_types) or "NULL"
        ids = (self.mapping.bedrooms_attribute, self.mapping.full_baths_attribute, self.mapping.half_baths_attribute)

        def current(alias: str, year_column: str) -> str:
            """Only rows of the year's current supplement: the join on prop_supp_assoc (its range repeated, so the
            planner walks both tables' keys), with the redundant `sup_num IN (...)` that lets it walk PACS's keys
            (year, sup_num, sale_id, prop_id, ...) as a few ranges. The owners' query keeps it: without it, the
            planner expected more owners and read account and address whole (0.5 s a range against 0.2 s)."""
            return (
                f"JOIN prop_supp_assoc psa ON psa.prop_id = {alias}.prop_id "
                f"AND psa.owner_tax_yr = {alias}.{year_column} AND psa.sup_num = {alias}.sup_num AND {_window('psa')} "
                f"{supplemented(alias, year_column)}"
            )

        def supplemented(alias: str, year_column: str) -> str:
            """The rows of the year's supplements, each query's last column their sup_num: `_read` keeps those of
            the current one (a join on prop_supp_assoc in each cost more than the few rows of older supplements)."""
            return f"WHERE {alias}.{year_column} = {year} AND {alias}.sup_num IN ({supplements}) AND {_window(alias)}"

        def select(key: str, columns: list[str]) -> str:
            """The select list: the prop_id, the digest of `columns`, and (reading in full) the columns."""
            self._names[key] = ["prop_id", "digest", *columns]
            listed = f", {', '.join(columns)}" if full and columns else ""
            return f"{columns[0].split('.')[0]}.prop_id, {self._digest(columns)}{listed}"

        mapped_p, mapped_pv = self._mapped("property", "p"), self._mapped("property_val", "pv")
        head = ["p.prop_type_cd", "pv.prop_inactive_dt", "pv.udi_parent_prop_id"]
        base_columns = [*head, "pv.gis_real_coord_x", "pv.gis_real_coord_y", *mapped_p, *mapped_pv]
        # Reading in full, the sums of property and property_val columns come added up (and money as BIGINT).
        sums = self._sums(("property", "property_val"), lambda ref: ref.sql(_ALIASES[ref.table]))
        python_columns = self._python_columns()
        needed = [column for column in [*mapped_p, *mapped_pv] if column in python_columns]
        full_columns = ["pv.gis_real_coord_x", "pv.gis_real_coord_y", *needed]
        self._names["base"] = ["p.prop_id", *head, "digest", *full_columns, *sums, "psa.sup_num"]
        listed = f", {', '.join([*full_columns, *sums.values()])}" if full else ""
        base = (
            f"SELECT p.prop_id, {', '.join(head)}, {self._digest(base_columns)}{listed}, psa.sup_num FROM property p "
            f"JOIN prop_supp_assoc psa ON psa.prop_id = p.prop_id AND psa.owner_tax_yr = {year} AND {_window('psa')} "
            "JOIN property_val pv ON pv.prop_id = psa.prop_id AND pv.prop_val_yr = psa.owner_tax_yr "
            f"AND pv.sup_num = psa.sup_num AND pv.sup_num IN ({supplements}) AND {_window('pv')} WHERE {_window('p')}"
        )
        situs_columns = [f"s.{c}" for c in SITUS_COLUMNS]
        situs = (
            f"SELECT {select('situs', situs_columns)} FROM (SELECT s.prop_id, {', '.join(situs_columns)}, "
            "ROW_NUMBER() OVER (PARTITION BY s.prop_id ORDER BY CASE WHEN LTRIM(RTRIM(s.primary_situs)) = 'Y' THEN 0 "
            f"ELSE 1 END, s.situs_id) AS tf_rank FROM situs s WHERE {_window('s')}) s WHERE s.tf_rank = 1"
        )  # the primary address, else the lowest situs id
        owner_columns = [f"o.{c}" for c in OWNER_COLUMNS]
        owners = (
            f"SELECT {select('owners', owner_columns)} FROM (SELECT o.prop_id, a.file_as_name, ad.addr_line1, "
            "ad.addr_line2, ad.addr_line3, ad.addr_city, ad.addr_state, ad.zip, ROW_NUMBER() OVER (PARTITION BY "
            "o.prop_id ORDER BY COALESCE(o.pct_ownership, 0) DESC, o.owner_id, ad.addr_type_cd) AS tf_rank "
            "FROM owner o JOIN account a ON a.acct_id = o.owner_id "
            "LEFT JOIN address ad ON ad.acct_id = o.owner_id AND ad.primary_addr = 'Y' "
            f"{current('o', 'owner_tax_yr')}) o WHERE o.tf_rank = 1"
        )  # the owner of record is the largest share, then the lowest owner id, as on the roll
        # The main improvement, the largest main-area detail of each improvement and each improvement's attributes
        # are three queries, put together by (prop_id, imprv_id) here: joined in SQL, the planner took the ranked
        # subqueries for a row each and re-ran one per row of the other (28 s for a range, against 0.3 s).
        mapped_i, mapped_d = self._mapped("imprv", "i"), self._mapped("imprv_detail", "d")
        self._names["improvements"] = ["prop_id", "digest", "i.imprv_id", *mapped_i]
        improvements = (
            f"SELECT i.prop_id, {self._digest(['i.imprv_id', *mapped_i])}, i.imprv_id"
            f"{''.join(', ' + column for column in mapped_i) if full else ''}, i.sup_num FROM "
            f"(SELECT {', '.join(_unique(['i.prop_id', 'i.sup_num', 'i.imprv_id', *mapped_i]))}, ROW_NUMBER() OVER "
            "(PARTITION BY i.prop_id, i.sup_num ORDER BY COALESCE(i.imprv_val, 0) DESC, i.imprv_id) AS tf_rank "
            f"FROM imprv i {supplemented('i', 'prop_val_yr')} AND i.sale_id = 0) i WHERE i.tf_rank = 1"
        )  # the main improvement: the highest value, then the lowest id
        self._names["details"] = ["prop_id", "d.imprv_id", "digest", "area", *mapped_d]
        self._names["area"] = ["prop_id", "area"]
        details = (
            f"SELECT d.prop_id, d.imprv_id, {self._digest(mapped_d or ['d.imprv_id'])}, d.area"
            f"{''.join(', ' + column for column in mapped_d) if full else ''}, d.sup_num FROM "
            f"(SELECT {', '.join(_unique(['d.prop_id', 'd.sup_num', 'd.imprv_id', *mapped_d]))}, ROW_NUMBER() OVER "
            "(PARTITION BY d.prop_id, d.sup_num, d.imprv_id ORDER BY COALESCE(d.imprv_det_area, 0) DESC, "
            "d.imprv_det_id) AS tf_rank, SUM(COALESCE(d.imprv_det_area, 0)) OVER (PARTITION BY d.prop_id, d.sup_num) "
            f"AS area FROM imprv_detail d {supplemented('d', 'prop_val_yr')} AND d.sale_id = 0 "
            f"AND LTRIM(RTRIM(d.imprv_det_type_cd)) IN ({main_types})) d WHERE d.tf_rank = 1"
        )  # each improvement's largest main-area detail (quality and condition come from the main one's), with
        # the property's living area: the main-area details of every live improvement
        counts = ["bedrooms", "full_baths", "half_baths"]
        self._names["attributes"] = ["prop_id", "b.imprv_id", "digest", *(f"b.{name}" for name in counts)]
        attributes = (
            f"SELECT b.prop_id, b.imprv_id, {self._digest([f'b.{name}' for name in counts])}"
            f"{''.join(', b.' + name for name in counts) if full else ''}, b.sup_num"
            " FROM (SELECT a.prop_id, a.sup_num, a.imprv_id, "
            + ", ".join(
                f"SUM(CASE WHEN a.imprv_attr_id = {int(number)} THEN COALESCE(a.i_attr_unit, 0) END) AS {name}"
                for number, name in zip(ids, counts, strict=True)
            )
            + f" FROM imprv_attr a {supplemented('a', 'prop_val_yr')} AND a.sale_id = 0 "
            f"AND a.imprv_attr_id IN ({', '.join(str(int(number)) for number in ids)}) "
            "GROUP BY a.prop_id, a.sup_num, a.imprv_id) b"
        )  # each improvement's bedrooms and bathrooms (the main one's are the property's)
        land_sums = self._sums(("land_detail",), lambda ref: f"SUM({ref.sql('l')})")
        land_columns = [c for c in self._mapped("land_detail", "l") if c in python_columns]
        self._names["land"] = ["prop_id", *land_columns, *land_sums]
        land = (
            f"SELECT l.prop_id, {', '.join([*(f'SUM({c})' for c in land_columns), *land_sums.values()])}, l.sup_num "
            f"FROM land_detail l {supplemented('l', 'prop_val_yr')} AND l.sale_id = 0 GROUP BY l.prop_id, l.sup_num"
        ) if land_columns or land_sums else None  # fmt: skip
        sale_columns = [f"x.{c}" for c in SALE_COLUMNS]
        sales = (
            f"SELECT x.prop_id, x.chg_of_owner_id, {self._digest(sale_columns)}"
            f"{', ' + ', '.join(sale_columns) if full else ''} FROM (SELECT c.prop_id, c.chg_of_owner_id, s.sl_price, "
            "s.adjusted_sl_price, s.sl_dt, s.sl_ratio_type_cd, co.deed_type_cd, co.excise_number, co.deed_dt, "
            "(SELECT COUNT(*) FROM chg_of_owner_prop_assoc c2 WHERE c2.chg_of_owner_id = c.chg_of_owner_id) AS parcels "
            "FROM chg_of_owner_prop_assoc c JOIN sale s ON s.chg_of_owner_id = c.chg_of_owner_id "
            f"JOIN chg_of_owner co ON co.chg_of_owner_id = c.chg_of_owner_id WHERE {_window('c')}) x"
        )  # a sale on each parcel it is linked to, with the number of parcels it covers
        exemptions = (
            f"SELECT e.prop_id, {self._digest(['e.exmpt_type_cd', 'e.exemption_pct'])}, e.exmpt_type_cd, "
            f"e.exemption_pct, e.sup_num FROM property_exemption e {supplemented('e', 'exmpt_tax_yr')} "
            f"AND e.owner_tax_yr = {year}"
        )  # each exemption of the year's current supplement (a property may have several, or none)
        queries = {
            "base": base, "situs": situs, "owners": owners, "improvements": improvements, "details": details,
            "attributes": attributes, "exemptions": exemptions,
        }  # fmt: skip
        if land is not None:
            queries["land"] = land
        queries["sales"] = sales
        return queries

    def _digest(self, columns: list[str]) -> str:
        """SQL for a hex digest of the columns' values, computed where the rows are."""
        vendor = self.connection.vendor
        if vendor == "postgresql":
            return f"md5(ROW({', '.join(columns)})::text)"
        if vendor == "microsoft":  # CONCAT makes NULL '' (a NULL and an empty text read alike here anyway)
            joined = ", '|', ".join(columns)  # CONCAT takes two arguments at least: the trailing '' makes sure
            return f"CONVERT(CHAR(32), HASHBYTES('MD5', CONCAT({joined}, '')), 2)"
        return f"tf_md5({', '.join(columns)})"  # SQLite: the function _query registers

    # --- from rows to records --------------------------------------------------------------------------------

    def _field(self, name: str, record: dict[str, Any]) -> Any:
        """A mapped field's value from the property's columns, combined as FIELD_SOURCES says."""
        getter = self._getters.get(name)
        if getter is None:
            getter = self._getters[name] = self._getter(name)
        return getter(record)

    def _sums(self, tables: tuple[str, ...], column) -> dict[str, str]:
        """SQL for the "sum" fields whose columns are all in `tables`: record key ("=<field>") -> expression (NULL
        when every column is, NULL counting as 0 otherwise; money cast to BIGINT: NUMERIC(14) is whole)."""
        sums = {}
        for name, refs in self.mapping.fields.items():
            source = FIELD_SOURCES[name]
            if source.combine != "sum" or any(ref.table not in tables for ref in refs):
                continue
            columns = [column(ref) for ref in refs]
            total = " + ".join(f"COALESCE({c}, 0)" for c in columns)
            expression = (
                columns[0]
                if len(columns) == 1
                else f"CASE WHEN {' AND '.join(f'{c} IS NULL' for c in columns)} THEN NULL ELSE {total} END"
            )
            sums[f"={name}"] = f"CAST({expression} AS BIGINT)" if source.kind == "money" else expression
        return sums

    def _python_columns(self) -> set[str]:
        """The mapped columns (as `<alias>.<column>`) of the fields combined here rather than by the database."""
        summed = {
            key[1:] for tables in (("property", "property_val"), ("land_detail",)) for key in self._sums(tables, str)
        }
        return {
            ref.sql(_ALIASES[ref.table])
            for name, refs in self.mapping.fields.items()
            if name not in summed
            for ref in refs
        }

    def _getter(self, name: str):
        """The function record -> value of a field, made once: this runs ~14 times a property."""
        keys = [ref.sql(_ALIASES[ref.table]) for ref in self.mapping.fields[name]]
        combine = FIELD_SOURCES[name].combine
        summed = f"={name}"
        if any(summed in names for names in self._names.values()):
            return lambda record: record.get(summed)
        if combine == "first":
            key = keys[0]
            return lambda record: record.get(key)
        if combine == "sum":

            def total(record):
                present = [_number(record.get(key)) for key in keys if record.get(key) is not None]
                return sum(present, Decimal(0)) if present else None

            return total
        return lambda record: " ".join(part for part in (text(record.get(key)) for key in keys) if part)

    def _property(self, prop_id, record, coordinates, chunk) -> PropertyRecord | None:
        key = f"prop_id={prop_id} year={self.roll_year}"
        problems: list[Reject] = []

        def money(name: str) -> int | None:
            value = self._field(name, record)
            if value is None:
                return None
            amount = whole(value)
            if amount < 0 or amount >= MAX_MONEY:
                problems.append(
                    Reject("property_val", key, name, "must be between 0 and 99,999,999,999,999", str(value))
                )
            return amount

        values = {name: money(name) for name in VALUE_FIELDS}
        land_value, improvement, market = values["land_value"], values["improvement_value"], values["market_value"]
        if None not in (land_value, improvement, market) and land_value + improvement != market:
            problems.append(
                Reject(
                    "property_val",
                    key,
                    "market_value",
                    f"market value must equal land + improvements ({land_value:,} + {improvement:,})",
                    str(market),
                )
            )
        parcel_number = text(self._field("parcel_number", record))
        if not parcel_number:
            problems.append(Reject("property", key, "parcel_number", "missing (property.geo_id is empty)"))
        elif len(parcel_number) > 50:
            problems.append(Reject("property", key, "parcel_number", "longer than 50 characters", parcel_number))
        year_built = whole(self._field("year_built", record))
        effective_year = whole(self._field("effective_year", record))
        for name, year in (("year_built", year_built), ("effective_year", effective_year)):
            if year is not None and year != 0 and not 1700 <= year <= 2200:
                problems.append(Reject("imprv", key, name, "must be a year between 1700 and 2200", str(year)))
        quality = self._coded("quality", record, self.mapping.quality_codes, chunk)
        condition = self._coded("condition", record, self.mapping.condition_codes, chunk)
        if problems:
            chunk.rejects.extend(problems)
            return None
        hood = code(self._field("neighborhood", record))
        if hood:
            chunk.neighborhoods.setdefault(hood, self.hood_names().get(hood, ""))
        number, prefix, street, suffix, unit, city, zip_code = (text(record.get(c)) for c in _SITUS_KEYS)
        line = " ".join(part for part in (number, prefix, street, suffix) if part)
        owner_name, line1, line2, line3, owner_city, owner_state, owner_zip = (text(record.get(c)) for c in _OWNER_KEYS)
        city_line = " ".join(part for part in (owner_city, owner_state, owner_zip) if part)
        owner_address = ", ".join(part for part in (line1, line2, line3, city_line) if part)
        area = record.get("area")
        bedrooms, full_baths, half_baths = (
            record.get(f"b.{name}") for name in ("bedrooms", "full_baths", "half_baths")
        )
        bathrooms = None
        if full_baths is not None or half_baths is not None:
            bathrooms = Decimal(round((full_baths or 0) * 2 + (half_baths or 0))) / 2
        longitude, latitude = coordinates.get(prop_id, (None, None))
        return PropertyRecord(
            property_id=prop_id,
            values={
                "parcel_number": parcel_number,
                "property_type": code(record["p.prop_type_cd"]),
                "class_code": code(self._field("class_code", record))[:20],
                "neighborhood_code": hood,
                "situs_address": (f"{line} #{unit}" if unit else line)[:200],
                "situs_city": city[:80],
                "situs_zip": zip_code[:10],
                "legal_description": text(self._field("legal_description", record)),
                "owner_name": owner_name[:200],
                "owner_address": owner_address[:300],
                "land_area_sqft": decimal(self._field("land_area_sqft", record), 2),
                "acreage": decimal(self._field("acreage", record), 4),
                "living_area": round(area) if area else None,
                "year_built": year_built or None,
                "effective_year": effective_year or None,
                "bedrooms": round(bedrooms) if bedrooms is not None else None,
                "bathrooms": bathrooms,
                "quality": quality,
                "condition": condition,
                "latitude": latitude,
                "longitude": longitude,
                **values,
            },
        )

    def _coded(self, name: str, record: dict[str, Any], codes: dict[str, str], chunk: Chunk) -> str:
        """A PACS code translated by the mapping; a code it does not list (a commercial class, say) loads as no
        value and is counted in the load's result (`unmapped_codes`), so a gap in the mapping shows."""
        if record.get("d.imprv_id") is None:
            return ""  # the main improvement has no main-area detail
        value = code(self._field(name, record))
        if value and value not in codes:
            chunk.unmapped[f"{name} {value}"] += 1
        return codes.get(value, "")

    def _coordinates(self, base: dict[int, tuple]) -> dict[int, tuple[float, float]]:
        """State-plane coordinates as lon/lat (pyproj, the whole range at once)."""
        present = [(prop_id, float(row[5]), float(row[6])) for prop_id, row in base.items() if None not in row[5:7]]
        if not present:
            return {}
        if self._transformer is None:
            from pyproj import Transformer

            self._transformer = Transformer.from_crs(self.mapping.coordinate_crs, "EPSG:4326", always_xy=True)
        longitudes, latitudes = self._transformer.transform([p[1] for p in present], [p[2] for p in present])
        return {
            prop_id: (round(lon, 7), round(lat, 7))
            for (prop_id, _, _), lon, lat in zip(present, longitudes, latitudes, strict=True)
        }

    def _sales(self, sales: dict[int, list[tuple]], loaded: set[int], chunk: Chunk) -> None:
        valid_codes, known_codes = set(self.mapping.valid_sale_codes), self.ratio_codes()
        for prop_id in loaded:
            for row in sales.get(prop_id, ()):
                self._sale(prop_id, row, valid_codes, known_codes, chunk)

    def _sale(self, prop_id: int, row: tuple, valid_codes: set[str], known_codes: set[str], chunk: Chunk) -> None:
        sale_id = int(row[1])
        price, adjusted, sold, ratio, deed, excise, deed_date, parcels = row[3:]
        key = f"chg_of_owner_id={sale_id} prop_id={prop_id}"
        ratio_code = code(ratio)
        sale_date = day(sold) or day(deed_date)
        problems = []
        amount = whole(price)
        if amount is None:
            problems.append(Reject("sale", key, "sale_price", "missing (sale.sl_price is NULL)"))
        elif not 0 <= amount < MAX_MONEY:
            problems.append(Reject("sale", key, "sale_price", "must be between 0 and 99,999,999,999,999", str(price)))
        if sale_date is None:
            problems.append(Reject("sale", key, "sale_date", "missing (sale.sl_dt and chg_of_owner.deed_dt)"))
        if ratio_code and ratio_code not in known_codes:
            problems.append(Reject("sale", key, "validity_code", "not a code of sale_ratio_type", ratio_code))
        if problems:
            chunk.rejects.extend(problems)
            return
        try:
            adjusted_amount = whole(adjusted)
        except (InvalidOperation, ValueError):
            adjusted_amount = None
        chunk.sales.append(
            SaleRecord(
                property_id=prop_id,
                sale_id=sale_id,
                values={
                    "sale_date": sale_date,
                    "sale_price": amount,
                    "adjusted_price": adjusted_amount,
                    "deed_type": code(deed)[:20],
                    "validity_code": ratio_code[:10],
                    "is_valid": ratio_code in valid_codes,
                    "excise_number": "" if excise is None else str(excise)[:40],
                    "is_multi_parcel": int(parcels) > 1,
                },
            )
        )


@dataclass
class _Rows:
    """What the queries of one range returned: the year's properties, and by prop_id each other query's row(s)."""

    base: list[tuple] = field(default_factory=list)
    digests: dict[int, str] = field(default_factory=dict)  # the base row's digest by prop_id
    situs: dict[int, tuple] = field(default_factory=dict)
    owners: dict[int, tuple] = field(default_factory=dict)
    improvements: dict[int, tuple] = field(default_factory=dict)  # the main improvement
    details: dict[tuple[int, int], tuple] = field(default_factory=dict)  # by (prop_id, imprv_id)
    attributes: dict[tuple[int, int], tuple] = field(default_factory=dict)  # by (prop_id, imprv_id)
    area: dict[int, tuple] = field(default_factory=dict)
    land: dict[int, tuple] = field(default_factory=dict)
    sales: dict[int, list[tuple]] = field(default_factory=dict)
    exemptions: dict[int, list[tuple]] = field(default_factory=dict)  # (prop_id, digest, type, percent)

    def exemptions_text(self, prop_id: int) -> str:
        """The property's exemptions as the roll shows them: each type with its percentage, by type."""
        parts = []
        for _, _, kind, percent in sorted(self.exemptions.get(prop_id, ()), key=lambda row: code(row[2])):
            parts.append(code(kind) + ("" if percent is None else f" {float(percent):g}%"))
        return "; ".join(parts)[:200]

    def of(self, prop_id: int) -> tuple:
        """The property's row of each query of _PER_PROPERTY (None where it has none); the detail and attributes
        are the main improvement's."""
        main = self.improvements.get(prop_id)
        key = (prop_id, main[2]) if main is not None else None
        return (
            self.situs.get(prop_id), self.owners.get(prop_id), main, self.details.get(key), self.attributes.get(key),
            self.area.get(prop_id), self.land.get(prop_id),
        )  # fmt: skip

    def hash(self, prop_id: int, fingerprint: str) -> str:
        """The property's row hash: every query's digest of its rows (the sums as they are), and the fingerprint."""
        situs, owners, main, detail, attributes, area, land = self.of(prop_id)
        sales = self.sales.get(prop_id)
        text = "\x1f".join((
            fingerprint, self.digests[prop_id],
            situs[1] if situs else "", owners[1] if owners else "", main[1] if main else "",
            detail[2] if detail else "", attributes[2] if attributes else "",
            str(area[1]) if area else "", "|".join(map(str, land[1:])) if land else "",
            ",".join(f"{row[1]}:{row[2]}" for row in sorted(sales, key=_sale_id)) if sales else "",
            ",".join(sorted(row[1] for row in self.exemptions.get(prop_id, ()))),
        ))  # fmt: skip
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _sale_id(row: tuple) -> int:
    return row[1]


def _md5(*values: Any) -> str:
    """SQLite's digest of a row (registered as tf_md5): the values' repr, hashed."""
    return hashlib.md5(repr(values).encode(), usedforsecurity=False).hexdigest()


def _window(alias: str) -> str:
    """Where a query's condition on the range of prop_ids goes, for the table aliased `alias`."""
    return f"{{w:{alias}}}"


_WINDOW = re.compile(r"\{w:(\w+)\}")


def _literal(value: str) -> str:
    """A code of the mapping as an SQL string literal (codes are checked text; quotes doubled all the same)."""
    return "'" + str(value).replace("'", "''") + "'"


def _unique(columns: list[str]) -> list[str]:
    return list(dict.fromkeys(columns))


# The alias each table has in the queries above (a mapped column is looked up as "<alias>.<column>").
_ALIASES = {"property": "p", "property_val": "pv", "imprv": "i", "imprv_detail": "d", "land_detail": "l"}
SITUS_COLUMNS = ("situs_num", "situs_street_prefx", "situs_street", "situs_street_sufix", "situs_unit", "situs_city",
                 "situs_zip")  # fmt: skip
OWNER_COLUMNS = ("file_as_name", "addr_line1", "addr_line2", "addr_line3", "addr_city", "addr_state", "zip")
SALE_COLUMNS = ("sl_price", "adjusted_sl_price", "sl_dt", "sl_ratio_type_cd", "deed_type_cd", "excise_number",
                "deed_dt", "parcels")  # fmt: skip
_SUPPLEMENTED = (
    "improvements",
    "details",
    "attributes",
    "land",
    "exemptions",
)  # queries read for every supplement of the year
_PER_PROPERTY = ("situs", "owners", "improvements", "details", "attributes", "area", "land")  # _Rows.of's order
_SITUS_KEYS = tuple(f"s.{column}" for column in SITUS_COLUMNS)
_OWNER_KEYS = tuple(f"o.{column}" for column in OWNER_COLUMNS)
