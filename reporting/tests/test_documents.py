"""The document writers on hostile text: data is never a formula, a link or markup."""

import openpyxl
import pypdf

from reporting.documents import MONEY, Col, Document, Table, Text, pdf_write, xlsx_write

HOSTILE = ['=HYPERLINK("http://example.org","x")', "http://example.org/a", "A <B & C>", "<font size=40>big</font>"]


def document() -> Document:
    rows = [(text, 1000 + number) for number, text in enumerate(HOSTILE)]
    owners = Table("Owners", [Col("owner"), Col("value", kind=MONEY)], rows)
    return Document(title="Owners <of> record", county="Demo & Co", parameters={"Note": "<b>not bold</b>"},
                    sections=[Text("Neighborhood <N03>"), owners])  # fmt: skip


def test_xlsx_keeps_text_as_text(tmp_path):
    path = tmp_path / "report.xlsx"
    xlsx_write(document(), path)
    sheet = openpyxl.load_workbook(path)["Owners"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 2 + len(HOSTILE))]
    assert [cell.value for cell in cells] == HOSTILE
    assert all(cell.data_type == "s" and cell.hyperlink is None for cell in cells)


def test_pdf_prints_markup_as_text(tmp_path):
    path = tmp_path / "report.pdf"
    pdf_write(document(), path)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "Owners <of> record" in text and "Demo & Co" in text and "A <B & C>" in text
    assert "<font size=40>big</font>" in text and "<b>not bold</b>" in text
