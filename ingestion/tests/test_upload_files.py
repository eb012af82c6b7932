"""Reading an uploaded file: what is refused at once, with a message that says what to do, and what is read."""

import io

import openpyxl
import pytest

from ingestion.uploads import UploadKind, UploadRefused, table_read

SALES = UploadKind.SALES


def read(content: bytes, name: str = "sales.csv", kind: str = SALES, mapping=None, max_rows: int = 1000, sheet=None):
    return table_read(content, name=name, kind=kind, mapping=mapping, max_rows=max_rows, sheet=sheet)


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEADER = ["Parcel Number", "sale_date", "sale_price"]


def test_a_csv_is_read_with_its_columns_fields_and_row_numbers():
    table = read(
        b"Parcel Number,sale_date,sale_price,note\r\n1-01,2025-03-01,250000,x\r\n\r\n,,,\r\n1-02,2025-04-02,1\r\n"
    )
    assert table.columns == ["parcel_number", "sale_date", "sale_price", ""]
    assert table.rows == [(2, ["1-01", "2025-03-01", "250000", "x"]), (5, ["1-02", "2025-04-02", "1"])]  # no empty
    assert table.encoding == "utf-8"


def test_a_utf8_bom_and_windows_1252_text_are_read():
    bom = read("\ufeffparcel_number,sale_date,sale_price\n1-01,2025-03-01,1\n".encode())
    assert bom.columns[0] == "parcel_number" and bom.encoding == "utf-8-sig"
    latin = read("parcel_number;sale_date;sale_price;deed_type\n1-01;2025-03-01;1;Déed\n".encode("cp1252"))
    assert latin.encoding == "cp1252" and latin.rows[0][1][3] == "Déed"  # and a semicolon-separated file


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "sales.csv", "binary data"),
        (b'parcel_number,sale_date,sale_price\n1-01,"2025-03-01,1\n1-02,2025-01-01,2\n', "sales.csv", "quote"),
        (b"\x81\x8d\x8f\x90\x9d,x\n", "sales.csv", "neither UTF-8 nor Windows-1252"),
        (b"", "sales.csv", "empty"),
        (b"parcel_number,sale_price\n1-01,1\n", "sales.csv", "Required columns missing: sale_date"),
        (b"not a workbook", "sales.xlsx", "not an XLSX workbook"),
        (b"parcel_number,sale_date,sale_price\n" + b"1-01,2025-01-01,1\n" * 11, "sales.csv", "at most 10"),
    ],
)
def test_files_that_cannot_be_a_table_of_the_kind_are_refused(content, name, message):
    with pytest.raises(UploadRefused, match=message):
        read(content, name=name, max_rows=10)


def test_a_workbook_of_several_sheets_needs_the_sheet_named():
    content = workbook(("Notes", [["read me"]]), ("Sales", [HEADER, ["1-01", "2025-03-01", 250000.0]]))
    with pytest.raises(UploadRefused, match="2 sheets \\(Notes, Sales\\)"):
        read(content, name="sales.xlsx")
    table = read(content, name="sales.xlsx", sheet="Sales")
    assert table.rows == [(2, ["1-01", "2025-03-01", "250000"])] and table.encoding == "xlsx"


def test_a_formula_without_a_saved_value_is_refused():
    content = workbook(("Sales", [HEADER, ["1-01", "2025-03-01", "=100000*2"]]))  # never opened in Excel: no value
    with pytest.raises(UploadRefused, match="Row 2, column 3 holds a formula"):
        read(content, name="sales.xlsx")


def test_the_column_mapping_feeds_fields_and_is_checked():
    content = b"Parcel,Date,Price\n1-01,2025-03-01,1\n"
    table = read(content, mapping={"Parcel": "parcel_number", "Date": "sale_date", "Price": "sale_price"})
    assert table.columns == ["parcel_number", "sale_date", "sale_price"]
    with pytest.raises(UploadRefused, match="fields a sales file has not: zoning"):
        read(content, mapping={"Parcel": "zoning"})
    with pytest.raises(UploadRefused, match="Several columns feed parcel_number"):
        read(b"parcel_number,Parcel,sale_date,sale_price\n1,1,2025-01-01,1\n", mapping={"Parcel": "parcel_number"})


def test_a_characteristics_file_changes_something():
    with pytest.raises(UploadRefused, match="at least one of"):
        read(b"parcel_number,owner\n1-01,x\n", kind=UploadKind.PROPERTY_CHARACTERISTICS)
    table = read(b"parcel_number,Year Built\n1-01,1999\n", kind=UploadKind.PROPERTY_CHARACTERISTICS)
    assert table.columns == ["parcel_number", "year_built"]
