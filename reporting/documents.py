"""A report as a document (a title, its parameters, then sections of tables, charts and text) and its writers: CSV
(streamed: the tables one after the other), XLSX (xlsxwriter in constant-memory mode: a sheet per table, a formatted
and frozen header, column widths, number formats, the charts on their own sheet) and PDF (reportlab: a title page with
the county and the parameters, the tables and charts, "page N of M" on every page).

A table's rows are tuples, or Arrow record batches for the large ones (the assessment roll): CSV writes those with
Arrow's own writer, XLSX a batch at a time, so the whole roll is never held in memory.
"""

import contextlib
import csv
import datetime
import io
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

import pyarrow as pa
import pyarrow.csv
from reportlab.lib import colors
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import PageBreak as PdfPageBreak
from reportlab.platypus import Table as PdfTable

# Column kinds: how a value is shown (XLSX number formats, PDF text).
TEXT, INT, MONEY, FLOAT, RATIO, SHARE, DATE = "text", "int", "money", "float", "ratio", "share", "date"
XLSX_FORMATS = {INT: "#,##0", MONEY: "$#,##0", FLOAT: "#,##0.00", RATIO: "0.000", SHARE: "0.0%", DATE: "yyyy-mm-dd"}
XLSX_WIDTHS = {TEXT: 18, INT: 10, MONEY: 14, FLOAT: 12, RATIO: 9, SHARE: 9, DATE: 11}


@dataclass(frozen=True)
class Col:
    name: str  # the CSV header and the key
    label: str = ""  # the XLSX and PDF header (default: the name)
    kind: str = TEXT
    width: int | None = None  # XLSX characters (default by kind)

    @property
    def heading(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass
class Table:
    title: str
    columns: list[Col]
    rows: Iterable[Sequence] = ()  # tuples in column order; or
    batches: Iterable[pa.RecordBatch] | None = None  # record batches with the columns in order; or
    csv_parts: Iterable[Callable[[], BinaryIO]] | None = None  # CSV bodies already written (parts), opened in order
    sheet: str = ""  # the XLSX sheet's name (default: the title, cut to Excel's 31 characters)
    note: str = ""  # shown under the title (PDF) or above the header (XLSX)
    pdf_rows: int | None = None  # at most this many rows in the PDF (the rest: "n more in the XLSX/CSV")

    def tuples(self) -> Iterator[Sequence]:
        if self.batches is None:
            yield from self.rows
            return
        for batch in self.batches:
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


@dataclass(frozen=True)
class Chart:
    title: str
    png: bytes


@dataclass(frozen=True)
class Text:
    text: str
    heading: bool = False


@dataclass
class Document:
    title: str
    county: str
    parameters: dict  # shown on the title page
    sections: list = field(default_factory=list)  # Table, Chart, Text, or PageBreak
    landscape: bool = False

    def tables(self) -> list[Table]:
        return [section for section in self.sections if isinstance(section, Table)]


class PageBreak:
    pass


# -- CSV --------------------------------------------------------------------------------------------------------


def csv_write(document: Document, path: Path) -> None:
    """Each table with its header, a blank line between tables; record batches through Arrow's CSV writer."""
    with path.open("wb") as out:
        for number, table in enumerate(document.tables()):
            if number:
                out.write(f"\r\n{_csv_line([table.title])}".encode())
            out.write(_csv_line([c.name for c in table.columns]).encode())
            if table.csv_parts is not None:
                for part in table.csv_parts:
                    with part() as body:
                        shutil.copyfileobj(body, out, 1 << 20)
            elif table.batches is not None:
                csv_rows_write(table.batches, out)
            else:
                text = io.StringIO()
                csv.writer(text, lineterminator="\r\n").writerows(
                    [_csv_value(value) for value in row] for row in table.rows
                )
                out.write(text.getvalue().encode())


def csv_rows_write(batches: Iterable[pa.RecordBatch], target) -> int:
    """Record batches as CSV lines without a header (Arrow's writer: C speed) to a path or a binary file; rows."""
    options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="needed", eol="\r\n")
    rows = 0
    with open(target, "wb") if isinstance(target, (str, Path)) else contextlib.nullcontext(target) as out:
        for batch in batches:
            pyarrow.csv.write_csv(batch, out, options)
            rows += batch.num_rows
    return rows


def _csv_line(values: Sequence) -> str:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(values)
    return text.getvalue()


def _csv_value(value):
    if isinstance(value, float):
        return round(value, 6)
    return "" if value is None else value


# -- XLSX -------------------------------------------------------------------------------------------------------


def xlsx_write(document: Document, path: Path) -> None:
    import xlsxwriter

    # Text stays text: an owner name starting with "=" is no formula, a legal description no hyperlink.
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd",
                                           "strings_to_formulas": False, "strings_to_urls": False})  # fmt: skip
    bold = book.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1, "text_wrap": True, "valign": "top"})
    title = book.add_format({"bold": True, "font_size": 13})
    formats = {kind: book.add_format({"num_format": pattern}) for kind, pattern in XLSX_FORMATS.items()}
    about = book.add_worksheet("About")
    about.set_column(0, 0, 28)
    about.set_column(1, 1, 70)
    about.write(0, 0, document.title, title)
    about.write(1, 0, "County")
    about.write(1, 1, document.county)
    for row, (name, value) in enumerate(document.parameters.items(), start=2):
        about.write(row, 0, name)
        about.write(row, 1, _plain(value))
    used: set[str] = {"About"}
    for table in document.tables():
        base = _sheet_name(table.sheet or table.title, used)
        sheet, row, header = None, 0, 0
        for values in table.tuples():
            if sheet is None or row >= XLSX_MAX_ROWS - 1:  # a sheet is full: the table goes on in the next one
                if sheet is not None:
                    sheet.autofilter(header, 0, row, len(table.columns) - 1)
                sheet, header = _xlsx_sheet(book, table, base if sheet is None else _sheet_name(base, used), bold,
                                            formats)  # fmt: skip
                row = header
            row += 1
            for index, (value, column) in enumerate(zip(values, table.columns, strict=True)):
                if value is not None:
                    sheet.write(row, index, value, formats.get(column.kind))
        if sheet is None:
            sheet, header = _xlsx_sheet(book, table, base, bold, formats)
            row = header
        if row > header:
            sheet.autofilter(header, 0, row, len(table.columns) - 1)
    charts = [section for section in document.sections if isinstance(section, Chart)]
    if charts:
        sheet = book.add_worksheet(_sheet_name("Charts", used))
        for number, chart in enumerate(charts):
            sheet.write(number * 26, 0, chart.title, title)
            image = {"image_data": io.BytesIO(chart.png), "x_scale": 0.8, "y_scale": 0.8}
            sheet.insert_image(number * 26 + 1, 0, f"{number}.png", image)
    book.close()


XLSX_MAX_ROWS = 1_048_576  # Excel's limit on a sheet


def _xlsx_sheet(book, table: Table, name: str, bold, formats):
    """A sheet for the table: its note, its formatted and frozen header, its columns' widths and formats; and the
    header's row."""
    sheet = book.add_worksheet(name)
    header = 1 if table.note else 0
    if table.note:
        sheet.write(0, 0, table.note)
    for index, column in enumerate(table.columns):
        sheet.set_column(index, index, column.width or XLSX_WIDTHS[column.kind], formats.get(column.kind))
        sheet.write(header, index, column.heading, bold)
    sheet.freeze_panes(header + 1, 0)
    return sheet, header


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("-" if c in "[]:*?/\\" else c for c in name)[:31] or "Sheet"
    candidate, number = clean, 1
    while candidate.lower() in {u.lower() for u in used}:
        number += 1
        candidate = f"{clean[: 31 - len(str(number)) - 1]} {number}"
    used.add(candidate)
    return candidate


def _plain(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


# -- PDF --------------------------------------------------------------------------------------------------------


def shown(value, kind: str) -> str:
    """A value as the PDF prints it."""
    if value is None or value == "":
        return ""
    if kind == MONEY:
        return f"${value:,.0f}"
    if kind == INT:
        return f"{value:,.0f}"
    if kind == FLOAT:
        return f"{value:,.2f}"
    if kind == RATIO:
        return f"{value:.3f}"
    if kind == SHARE:
        return f"{value:+.1%}"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _text(text, style) -> Paragraph:
    """A paragraph of plain text: reportlab reads markup in a Paragraph, and a county's data is no markup."""
    return Paragraph(escape(str(text)), style)


STYLES = getSampleStyleSheet()
SMALL = STYLES["BodyText"].clone("small", fontSize=7, leading=8.5)
HEAD = STYLES["BodyText"].clone("head", fontSize=7, leading=8.5, fontName="Helvetica-Bold")


def pdf_write(document: Document, path: Path) -> None:
    size = landscape(letter) if document.landscape else letter
    styles, small, head = STYLES, SMALL, HEAD
    frame_width = size[0] - 1.2 * inch
    story = [
        Spacer(1, 1.6 * inch),
        _text(document.title, styles["Title"]),
        _text(document.county, styles["Heading2"]),
        _text(f"Produced {datetime.datetime.now():%Y-%m-%d %H:%M} by TerraFusion", styles["BodyText"]),
        Spacer(1, 0.3 * inch),
    ]
    if document.parameters:
        rows = [[_text(str(k), head), _text(_plain(v), small)] for k, v in document.parameters.items()]
        grid = PdfTable(rows, colWidths=[1.8 * inch, frame_width - 1.8 * inch])
        grid.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(grid)
    story.append(PdfPageBreak())
    for section in document.sections:
        if isinstance(section, PageBreak):
            story.append(PdfPageBreak())
        elif isinstance(section, Text):
            story.append(_text(section.text, styles["Heading2"] if section.heading else styles["BodyText"]))
        elif isinstance(section, Chart):
            image = Image(io.BytesIO(section.png))
            scale = min(1.0, frame_width / image.drawWidth, 3.6 * inch / image.drawHeight)
            image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
            story += [_text(section.title, styles["Heading4"]), image, Spacer(1, 0.1 * inch)]
        else:
            story += _pdf_table(section, frame_width)
    doc = SimpleDocTemplate(str(path), pagesize=size, leftMargin=0.6 * inch, rightMargin=0.6 * inch,
                            topMargin=0.6 * inch, bottomMargin=0.6 * inch, title=document.title,
                            author="TerraFusion", subject=document.county)  # fmt: skip
    doc.build(story, canvasmaker=_numbered_canvas(document))


def _pdf_table(table: Table, width: float) -> list:
    flow = [_text(table.title, STYLES["Heading3"])]
    if table.note:
        flow.append(_text(table.note, SMALL))
    limit = table.pdf_rows
    rows, more = [], 0
    for number, values in enumerate(table.tuples()):
        if limit is not None and number >= limit:
            more += 1
            continue
        rows.append([shown(value, column.kind) for value, column in zip(values, table.columns, strict=True)])
    header = [_text(column.heading, HEAD) for column in table.columns]
    grid = PdfTable([header, *rows] if rows else [header, ["(none)"] + [""] * (len(header) - 1)], repeatRows=1,
                    colWidths=[width / len(table.columns)] * len(table.columns))  # fmt: skip
    numeric = [i for i, c in enumerate(table.columns) if c.kind != TEXT]
    style = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE4EE")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F7FA")]),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        *(("ALIGN", (i, 1), (i, -1), "RIGHT") for i in numeric),
    ]
    grid.setStyle(TableStyle(style))
    flow.append(grid)
    if more:
        flow.append(_text(f"... and {more:,} more rows: the full table is in the XLSX and CSV formats.", SMALL))
    return flow


def _numbered_canvas(document: Document):
    """A canvas that writes "page N of M" (and the report's title) on every page once it knows M."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                width = self._pagesize[0]
                self.drawString(36, 20, f"{document.county}: {document.title}")
                self.drawRightString(width - 36, 20, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


WRITERS = {"csv": csv_write, "xlsx": xlsx_write, "pdf": pdf_write}
