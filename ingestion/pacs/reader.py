"""Read one roll year of a county's PACS, a range of `prop_id`s at a time, into TerraFusion's records.

Each chunk is read with a fixed handful of set-based queries (the current supplement's property and values,
situs rows, owners, live improvements and their details and attributes, land segments, sales), whatever its
size: never a query per property. The SQL is plain ANSI (joins, CASE, a correlated COUNT), so the same text runs
on SQL Server, PostgreSQL and SQLite through the alias's Django cursor. The quirks of SCHEMA.md are handled
here, in one place:

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

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
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

    def row_hash(self) -> str:
        """A digest of everything loaded for the property: the sync compares it to skip unchanged records."""
        text = "\x1f".join("" if self.values[name] is None else str(self.values[name]) for name in PROPERTY_COLUMNS)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


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

    # --- SQL ------------------------------------------------------------------------------------------------

    def _mapped(self, table: str, alias: str) -> list[str]:
        return [ref.sql(alias) for ref in self.mapping.columns(table)]

    def _query(self, sql: str, params: list) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _current(self, table: str, alias: str, year_column: str) -> str:
        """The join that keeps only rows of the year's current supplement.

        The redundant `sup_num IN (...)` (the supplement numbers the year uses, a handful) lets the database walk
        PACS's primary keys (year, sup_num, sale_id, prop_id, ...) as a few ranges of prop_ids, instead of
        filtering the whole year (EXPLAIN ANALYZE on PostgreSQL, the details of one range of prop_ids: 202 -> 43 ms).
        """
        supplements = ", ".join(str(number) for number in self.supplements())
        return (
            f"JOIN prop_supp_assoc psa ON psa.prop_id = {alias}.prop_id AND psa.owner_tax_yr = {alias}.{year_column}"
            f" AND psa.sup_num = {alias}.sup_num AND {alias}.sup_num IN ({supplements})"
        )

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

    def chunk(self, low: int, high: int) -> Chunk:
        chunk = Chunk()
        year, window = self.roll_year, [low, high]
        mapped_property = self._mapped("property", "p")
        mapped_value = self._mapped("property_val", "pv")
        head = [
            "p.prop_id", "p.prop_type_cd", "pv.prop_inactive_dt", "pv.udi_parent_prop_id", "pv.gis_real_coord_x",
            "pv.gis_real_coord_y",
        ]  # fmt: skip
        base_rows = self._query(
            f"SELECT {', '.join(head + mapped_property + mapped_value)} FROM property p "
            "JOIN prop_supp_assoc psa ON psa.prop_id = p.prop_id AND psa.owner_tax_yr = %s "
            "JOIN property_val pv ON pv.prop_id = psa.prop_id AND pv.prop_val_yr = psa.owner_tax_yr "
            f"AND pv.sup_num = psa.sup_num AND pv.sup_num IN ({', '.join(map(str, self.supplements()))}) "
            "WHERE p.prop_id >= %s AND p.prop_id < %s ORDER BY p.prop_id",
            [year, *window],
        )
        names = [*head, *mapped_property, *mapped_value]
        chunk.read = len(base_rows)
        loaded: dict[int, dict[str, Any]] = {}
        for row in base_rows:
            record = dict(zip(names, row, strict=True))
            prop_id = int(record["p.prop_id"])
            if code(record["p.prop_type_cd"]) not in self.mapping.property_types:
                chunk.skipped_types += 1
            elif record["pv.prop_inactive_dt"] not in (None, ""):
                chunk.inactive += 1
            elif record["pv.udi_parent_prop_id"] is not None:
                chunk.udi_children += 1  # an undivided interest: its parent carries the parcel and its values
            else:
                loaded[prop_id] = record
        if not loaded:
            return chunk
        situs = self._situs(window)
        owners = self._owners(year, window)
        buildings = self._buildings(year, window)
        land = self._land(year, window)
        coordinates = self._coordinates(loaded)
        for prop_id, record in loaded.items():
            built = self._property(prop_id, record, situs, owners, buildings, land, coordinates, chunk)
            if built is not None:
                chunk.properties.append(built)
        self._sales(window, {record.property_id for record in chunk.properties}, chunk)
        return chunk

    def _field(self, name: str, record: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
        """A mapped field's value from the row(s) it comes from, combined as FIELD_SOURCES says."""
        getter = self._getters.get(name)
        if getter is None:
            getter = self._getters[name] = self._getter(name)
        return getter(record, extra)

    def _getter(self, name: str):
        """The function (property row, other row) -> value of a field, made once: this runs ~14 times a property."""
        keys = [
            (ref.table in ("property", "property_val"), ref.sql(_ALIASES[ref.table]))
            for ref in self.mapping.fields[name]
        ]
        combine = FIELD_SOURCES[name].combine
        if combine == "first":
            on_record, key = keys[0]
            if on_record:
                return lambda record, extra: record.get(key)
            return lambda record, extra: (record if extra is None else extra).get(key)

        def values(record, extra):
            return [(record if on_record or extra is None else extra).get(key) for on_record, key in keys]

        if combine == "sum":

            def total(record, extra):
                present = [_number(value) for value in values(record, extra) if value is not None]
                return sum(present, Decimal(0)) if present else None

            return total
        return lambda record, extra: " ".join(part for part in (text(value) for value in values(record, extra)) if part)

    def _property(self, prop_id, record, situs, owners, buildings, land, coordinates, chunk) -> PropertyRecord | None:
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
        building = buildings.get(prop_id, {})
        year_built = whole(self._field("year_built", record, building.get("main", {})))
        effective_year = whole(self._field("effective_year", record, building.get("main", {})))
        for name, year in (("year_built", year_built), ("effective_year", effective_year)):
            if year is not None and year != 0 and not 1700 <= year <= 2200:
                problems.append(Reject("imprv", key, name, "must be a year between 1700 and 2200", str(year)))
        quality = self._coded("quality", building.get("detail", {}), self.mapping.quality_codes, chunk)
        condition = self._coded("condition", building.get("detail", {}), self.mapping.condition_codes, chunk)
        if problems:
            chunk.rejects.extend(problems)
            return None
        hood = code(self._field("neighborhood", record))
        if hood:
            chunk.neighborhoods.setdefault(hood, self.hood_names().get(hood, ""))
        address, city, zip_code = situs.get(prop_id, ("", "", ""))
        owner_name, owner_address = owners.get(prop_id, ("", ""))
        segments = land.get(prop_id, {})
        land_sqft = self._field("land_area_sqft", record, segments)
        acreage = self._field("acreage", record, segments)
        longitude, latitude = coordinates.get(prop_id, (None, None))
        return PropertyRecord(
            property_id=prop_id,
            values={
                "parcel_number": parcel_number,
                "property_type": code(record["p.prop_type_cd"]),
                "class_code": code(self._field("class_code", record))[:20],
                "neighborhood_code": hood,
                "situs_address": address[:200],
                "situs_city": city[:80],
                "situs_zip": zip_code[:10],
                "legal_description": text(self._field("legal_description", record)),
                "owner_name": owner_name[:200],
                "owner_address": owner_address[:300],
                "land_area_sqft": decimal(land_sqft, 2),
                "acreage": decimal(acreage, 4),
                "living_area": building.get("living_area"),
                "year_built": year_built or None,
                "effective_year": effective_year or None,
                "bedrooms": building.get("bedrooms"),
                "bathrooms": building.get("bathrooms"),
                "quality": quality,
                "condition": condition,
                "latitude": latitude,
                "longitude": longitude,
                **values,
            },
        )

    def _coded(self, name: str, detail: dict, codes: dict[str, str], chunk: Chunk) -> str:
        """A PACS code translated by the mapping; a code it does not list (a commercial class, say) loads as no
        value and is counted in the load's result (`unmapped_codes`), so a gap in the mapping shows."""
        if not detail:
            return ""
        value = code(self._field(name, {}, detail))
        if value and value not in codes:
            chunk.unmapped[f"{name} {value}"] += 1
        return codes.get(value, "")

    # --- the tables around a property ------------------------------------------------------------------------

    def _situs(self, window: list[int]) -> dict[int, tuple[str, str, str]]:
        rows = self._query(
            "SELECT prop_id, situs_id, primary_situs, situs_num, situs_street_prefx, situs_street, situs_street_sufix, "
            "situs_unit, situs_city, situs_state, situs_zip FROM situs WHERE prop_id >= %s AND prop_id < %s",
            window,
        )
        best: dict[int, tuple] = {}
        for row in rows:
            prop_id = int(row[0])
            rank = (code(row[2]) != "Y", int(row[1]))  # the primary address, else the lowest situs id
            if prop_id not in best or rank < best[prop_id][0]:
                best[prop_id] = (rank, row)
        result = {}
        for prop_id, (_, row) in best.items():
            number, prefix, street, suffix, unit, city, _state, zip_code = (text(value) for value in row[3:])
            line = " ".join(part for part in (number, prefix, street, suffix) if part)
            result[prop_id] = (f"{line} #{unit}" if unit else line, city, zip_code)
        return result

    def _owners(self, year: int, window: list[int]) -> dict[int, tuple[str, str]]:
        rows = self._query(
            "SELECT o.prop_id, o.owner_id, o.pct_ownership, a.file_as_name, ad.addr_line1, ad.addr_line2, "
            "ad.addr_line3, ad.addr_city, ad.addr_state, ad.zip FROM owner o "
            f"{self._current('owner', 'o', 'owner_tax_yr')} "
            "JOIN account a ON a.acct_id = o.owner_id "
            "LEFT JOIN address ad ON ad.acct_id = o.owner_id AND ad.primary_addr = 'Y' "
            "WHERE o.owner_tax_yr = %s AND o.prop_id >= %s AND o.prop_id < %s",
            [year, *window],
        )
        by_property: dict[int, list[tuple]] = defaultdict(list)
        for row in rows:
            share = float(row[2]) if row[2] is not None else 0.0
            by_property[int(row[0])].append((-share, int(row[1]), row))
        result = {}
        for prop_id, owners in by_property.items():
            # The owner of record is the largest share (then the lowest owner id), as on the roll; co-owners
            # stay in PACS (a joint name is usually one account's file_as_name already: "SMITH JOHN & MARY").
            first = min(owners, key=lambda item: item[:2])[2]
            city_line = " ".join(part for part in (text(first[7]), text(first[8]), text(first[9])) if part)
            lines = [text(first[4]), text(first[5]), text(first[6]), city_line]
            result[prop_id] = (text(first[3]), ", ".join(line for line in lines if line))
        return result

    def _buildings(self, year: int, window: list[int]) -> dict[int, dict[str, Any]]:
        mapped = self._mapped("imprv", "i")
        rows = self._query(
            f"SELECT i.prop_id, i.imprv_id, i.imprv_val{''.join(', ' + c for c in mapped)} FROM imprv i "
            f"{self._current('imprv', 'i', 'prop_val_yr')} "
            "WHERE i.prop_val_yr = %s AND i.sale_id = 0 AND i.prop_id >= %s AND i.prop_id < %s",
            [year, *window],
        )
        result: dict[int, dict[str, Any]] = {}
        for row in rows:
            prop_id, imprv_id, value = int(row[0]), int(row[1]), whole(row[2]) or 0
            entry = result.setdefault(prop_id, {})
            if "main" not in entry or (-value, imprv_id) < entry["rank"]:
                entry["rank"], entry["main_id"] = (-value, imprv_id), imprv_id
                entry["main"] = dict(zip(mapped, row[3:], strict=True))
        detail_mapped = self._mapped("imprv_detail", "d")
        rows = self._query(
            "SELECT d.prop_id, d.imprv_id, d.imprv_det_id, d.imprv_det_type_cd, d.imprv_det_area"
            f"{''.join(', ' + c for c in detail_mapped)} FROM imprv_detail d "
            f"{self._current('imprv_detail', 'd', 'prop_val_yr')} "
            "WHERE d.prop_val_yr = %s AND d.sale_id = 0 AND d.prop_id >= %s AND d.prop_id < %s",
            [year, *window],
        )
        main_types = set(self.mapping.main_area_types)
        for row in rows:
            prop_id, imprv_id, detail_id = int(row[0]), int(row[1]), int(row[2])
            if code(row[3]) not in main_types:
                continue
            area = float(row[4] or 0)
            entry = result.setdefault(prop_id, {})
            entry["area"] = entry.get("area", 0.0) + area
            if imprv_id == entry.get("main_id") and (-area, detail_id) < entry.get("detail_rank", (1, 0)):
                entry["detail_rank"] = (-area, detail_id)
                entry["detail"] = dict(zip(detail_mapped, row[5:], strict=True))
        ids = (self.mapping.bedrooms_attribute, self.mapping.full_baths_attribute, self.mapping.half_baths_attribute)
        rows = self._query(
            "SELECT a.prop_id, a.imprv_id, a.imprv_attr_id, a.i_attr_unit FROM imprv_attr a "
            f"{self._current('imprv_attr', 'a', 'prop_val_yr')} "
            "WHERE a.prop_val_yr = %s AND a.sale_id = 0 AND a.imprv_attr_id IN (%s, %s, %s) "
            "AND a.prop_id >= %s AND a.prop_id < %s",
            [year, *ids, *window],
        )
        counts: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for prop_id, imprv_id, attribute, units in rows:
            if int(imprv_id) == result.get(int(prop_id), {}).get("main_id"):
                counts[int(prop_id)][int(attribute)] += float(units or 0)
        for prop_id, entry in result.items():
            area = entry.get("area")
            entry["living_area"] = round(area) if area else None
            found = counts.get(prop_id)
            if found:
                bedrooms = found.get(ids[0])
                entry["bedrooms"] = round(bedrooms) if bedrooms is not None else None
                if ids[1] in found or ids[2] in found:
                    halves = found.get(ids[1], 0) * 2 + found.get(ids[2], 0)
                    entry["bathrooms"] = Decimal(round(halves)) / 2
        return result

    def _land(self, year: int, window: list[int]) -> dict[int, dict[str, Decimal]]:
        mapped = self._mapped("land_detail", "l")
        if not mapped:
            return {}
        rows = self._query(
            f"SELECT l.prop_id, {', '.join(mapped)} FROM land_detail l "
            f"{self._current('land_detail', 'l', 'prop_val_yr')} "
            "WHERE l.prop_val_yr = %s AND l.sale_id = 0 AND l.prop_id >= %s AND l.prop_id < %s",
            [year, *window],
        )
        result: dict[int, dict[str, Decimal]] = defaultdict(dict)
        for row in rows:
            entry = result[int(row[0])]
            for column, value in zip(mapped, row[1:], strict=True):
                if value is not None:
                    entry[column] = entry.get(column, Decimal(0)) + Decimal(str(value))
        return result

    def _coordinates(self, loaded: dict[int, dict[str, Any]]) -> dict[int, tuple[float, float]]:
        present = [
            (prop_id, float(r["pv.gis_real_coord_x"]), float(r["pv.gis_real_coord_y"]))
            for prop_id, r in loaded.items()
            if r["pv.gis_real_coord_x"] is not None and r["pv.gis_real_coord_y"] is not None
        ]
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

    def _sales(self, window: list[int], loaded: set[int], chunk: Chunk) -> None:
        rows = self._query(
            "SELECT c.prop_id, c.chg_of_owner_id, s.sl_price, s.adjusted_sl_price, s.sl_dt, s.sl_ratio_type_cd, "
            "co.deed_type_cd, co.excise_number, co.deed_dt, "
            "(SELECT COUNT(*) FROM chg_of_owner_prop_assoc c2 WHERE c2.chg_of_owner_id = c.chg_of_owner_id) "
            "FROM chg_of_owner_prop_assoc c "
            "JOIN sale s ON s.chg_of_owner_id = c.chg_of_owner_id "
            "JOIN chg_of_owner co ON co.chg_of_owner_id = c.chg_of_owner_id "
            "WHERE c.prop_id >= %s AND c.prop_id < %s",
            window,
        )
        valid_codes, known_codes = set(self.mapping.valid_sale_codes), self.ratio_codes()
        for prop_id, sale_id, price, adjusted, sold, ratio, deed, excise, deed_date, parcels in rows:
            prop_id, sale_id = int(prop_id), int(sale_id)
            if prop_id not in loaded:
                continue
            key = f"chg_of_owner_id={sale_id} prop_id={prop_id}"
            ratio_code = code(ratio)
            sale_date = day(sold) or day(deed_date)
            problems = []
            amount = whole(price)
            if amount is None:
                problems.append(Reject("sale", key, "sale_price", "missing (sale.sl_price is NULL)"))
            elif not 0 <= amount < MAX_MONEY:
                problems.append(
                    Reject("sale", key, "sale_price", "must be between 0 and 99,999,999,999,999", str(price))
                )
            if sale_date is None:
                problems.append(Reject("sale", key, "sale_date", "missing (sale.sl_dt and chg_of_owner.deed_dt)"))
            if ratio_code and ratio_code not in known_codes:
                problems.append(Reject("sale", key, "validity_code", "not a code of sale_ratio_type", ratio_code))
            if problems:
                chunk.rejects.extend(problems)
                continue
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


# The alias each table has in the queries above (a mapped column is looked up as "<alias>.<column>").
_ALIASES = {"property": "p", "property_val": "pv", "imprv": "i", "imprv_detail": "d", "land_detail": "l"}
