"""File uploads of property data: what each kind of file holds, and reading a CSV or XLSX file into rows.

Reading refuses at once, with a message a data steward can act on, what cannot be a table of this kind: a file that
is neither CSV nor XLSX, text in an encoding that cannot be read (UTF-8, with or without its BOM, or Windows-1252),
a CSV with a broken quote, a workbook of several sheets (say which), formulas without a value, more rows than the
limit, and missing required columns (after the upload's column mapping). Empty rows are skipped.
"""

import csv
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models


class UploadKind(models.TextChoices):
    PROPERTY_CHARACTERISTICS = "property_characteristics", "Property characteristics"
    SALES = "sales", "Sales"
    VALUE_ADJUSTMENTS = "value_adjustments", "Value adjustments"


@dataclass(frozen=True)
class KindSpec:
    required: tuple[str, ...]  # columns every file of the kind has
    optional: tuple[str, ...]  # columns it may have (at least one for characteristics)

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


CHARACTERISTICS = ("class_code", "living_area", "year_built", "effective_year", "bedrooms", "bathrooms", "quality",
                   "condition", "land_area_sqft", "acreage")  # fmt: skip
KINDS = {
    UploadKind.PROPERTY_CHARACTERISTICS: KindSpec(required=("parcel_number",), optional=CHARACTERISTICS),
    UploadKind.SALES: KindSpec(
        required=("parcel_number", "sale_date", "sale_price"),
        optional=("sale_id", "adjusted_price", "deed_type", "validity_code", "is_valid", "excise_number"),
    ),
    UploadKind.VALUE_ADJUSTMENTS: KindSpec(
        required=("parcel_number", "roll_year", "land_value", "improvement_value"),
        optional=("market_value", "assessed_value", "reason"),
    ),
}


class UploadRefused(ValueError):
    """The file cannot be read as a table of its kind; the message says why and what to do."""


@dataclass
class Table:
    columns: list[str]  # the field each column feeds (after the mapping); "" for a column that feeds none
    rows: list[tuple[int, list[str]]]  # (the row's number in the file, counting the header as 1; its cells as text)
    encoding: str  # "utf-8", "utf-8-sig", "cp1252" or "xlsx"


def table_read(content: bytes, *, name: str, kind: str, mapping: Mapping[str, str] | None, max_rows: int,
               sheet: str | None = None) -> Table:  # fmt: skip
    """The file's rows as text under the fields they feed; UploadRefused when it cannot be read as the kind."""
    if content[:4] == b"PK\x03\x04":
        header, rows = _xlsx_rows(content, sheet)
        encoding = "xlsx"
    elif name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise UploadRefused(f"{name} is not an XLSX workbook (an old .xls? save it as .xlsx or CSV).")
    else:
        header, rows, encoding = _csv_rows(content, name)
    columns = _columns(header, kind, mapping or {})
    if len(rows) > max_rows:
        raise UploadRefused(f"{name} has {len(rows):,} rows; an upload may have at most {max_rows:,}: split it.")
    return Table(columns=columns, rows=rows, encoding=encoding)


def _text(content: bytes, name: str) -> tuple[str, str]:
    if b"\x00" in content[:65536]:
        raise UploadRefused(f"{name} is not a text file (CSV) nor an XLSX workbook: it holds binary data.")
    for encoding in ("utf-8-sig", "cp1252"):  # a BOM is dropped; Windows' code page is the usual other
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, "utf-8" if encoding == "utf-8-sig" and not content.startswith(b"\xef\xbb\xbf") else encoding
    raise UploadRefused(f"{name} is neither UTF-8 nor Windows-1252 text: save it as CSV UTF-8 and upload it again.")


def _csv_rows(content: bytes, name: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    text, encoding = _text(content, name)
    try:
        dialect = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, None)
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as exc:
        raise UploadRefused(f"{name}, line {reader.line_num}: {exc} (a quote left open?).") from None
    if not header or not any(cell.strip() for cell in header):
        raise UploadRefused(f"{name} is empty: the first line names the columns.")
    return [cell.strip() for cell in header], rows, encoding


def _xlsx_rows(content: bytes, sheet: str | None):
    import openpyxl

    try:
        values = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        reason = exc.__class__.__name__
        raise UploadRefused(f"The workbook cannot be read ({reason}): save it again as .xlsx.") from None
    names = values.sheetnames
    if sheet is None and len(names) > 1:
        raise UploadRefused(f"The workbook has {len(names)} sheets ({', '.join(names)}): give the one to load "
                            "(`sheet`), or upload a workbook of one sheet.")  # fmt: skip
    chosen = sheet or names[0]
    if chosen not in names:
        raise UploadRefused(f"The workbook has no sheet {chosen!r} (it has {', '.join(names)}).")
    rows = []
    header = None
    for number, (cells, raw) in enumerate(
        zip(values[chosen].iter_rows(values_only=True), formulas[chosen].iter_rows(values_only=True), strict=False),
        start=1,
    ):
        for column, (value, source) in enumerate(zip(cells, raw, strict=False)):
            if value is None and isinstance(source, str) and source.startswith("="):
                raise UploadRefused(f"Row {number}, column {column + 1} holds a formula without a saved value "
                                    f"({source}): open and save the file in Excel, or paste values.")  # fmt: skip
        text = [_cell(value) for value in cells]
        if header is None:
            header = text
        elif any(text):
            rows.append((number, text))
    if not header or not any(header):
        raise UploadRefused("The sheet is empty: its first row names the columns.")
    return header, rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()[:10] if getattr(value, "hour", 0) == 0 else value.isoformat()
    return str(value).strip()


def _columns(header: list[str], kind: str, mapping: Mapping[str, str]) -> list[str]:
    """The field each column feeds: the mapping's (file column -> field), else the column's own name when it is a
    field of the kind (case and spaces aside); a required field no column feeds refuses the file."""
    spec = KINDS[kind]
    wanted = {field.lower(): field for field in spec.fields}
    given = {column.strip().lower(): field for column, field in mapping.items()}
    unknown = sorted(set(mapping.values()) - set(spec.fields))
    if unknown:
        raise UploadRefused(f"The column mapping names fields a {kind} file has not: {', '.join(unknown)}.")
    columns = []
    for cell in header:
        key = cell.strip().lower()
        columns.append(given.get(key) or wanted.get(key.replace(" ", "_"), ""))
    missing = [field for field in spec.required if field not in columns]
    if missing:
        raise UploadRefused(f"Required columns missing: {', '.join(missing)} (the file has {', '.join(header)}; map "
                            "yours to them with the column mapping).")  # fmt: skip
    if kind == UploadKind.PROPERTY_CHARACTERISTICS and not set(columns) & set(CHARACTERISTICS):
        raise UploadRefused(f"A characteristics file changes at least one of {', '.join(CHARACTERISTICS)}.")
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise UploadRefused(f"Several columns feed {', '.join(duplicated)}: keep one each.")
    return columns
