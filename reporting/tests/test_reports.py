"""Every report on the demo county, in every format it has, read back: CSV and XLSX rows and totals against the
database's, the PDF's pages and text with a PDF reader; formats a report does not have are refused at submission."""

import csv
import io

import openpyxl
import pypdf
import pytest
from django.db.models import Sum
from django.urls import reverse

from counties.models import County
from properties.demo import demo_county_generate
from properties.models import Property, PropertyValue
from reporting.choices import FORMATS
from reporting.documents import WRITERS
from reporting.jobs import REPORT_JOBS
from reporting.models import ReportJob
from reporting.reports import REPORTS
from terrafusion.testing.api import bearer_client
from terrafusion.testing.factories import user_with_role
from terrafusion.testing.workers import run_burst_worker, start_burst_worker

# Committed: the roll is read through its own (Arrow) connection on PostgreSQL, as a worker reads.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def county(db):
    demo_county_generate(slug="demo", parcels=300, seed=11, working_year=2026)
    return County.objects.get(slug="demo")


def build(county, tmp_path, **given):
    parameters = {"roll_year": county.working_roll_year, **REPORT_JOBS.validate_parameters(given)}
    document, summary = REPORTS[parameters["report_type"]](county, parameters)
    path = tmp_path / f"report.{parameters['format']}"
    WRITERS[parameters["format"]](document, path)
    return path, summary


def csv_tables(path) -> list[list[list[str]]]:
    """The CSV's tables (split at the blank lines), each a list of rows with its header first."""
    tables, current = [], []
    for row in csv.reader(io.StringIO(path.read_text())):
        if not row:
            tables.append(current)
            current = []
        else:
            current.append(row)
    return [*tables, current]


@pytest.mark.parametrize(("report_type", "export_format"), [(r, f) for r, formats in FORMATS.items() for f in formats])
def test_every_report_runs_on_the_demo_county_in_every_format(county, tmp_path, report_type, export_format):
    path, summary = build(county, tmp_path, report_type=report_type, format=export_format)
    assert path.stat().st_size > 1_000 and summary
    if export_format == "pdf":
        reader = pypdf.PdfReader(path)
        first = reader.pages[0].extract_text()
        assert "Demo County" in first and f"Page 1 of {len(reader.pages)}" in first
    elif export_format == "xlsx":
        assert openpyxl.load_workbook(path, read_only=True).sheetnames[0] == "About"


def test_the_assessment_roll_csv_lists_every_active_parcel_with_the_databases_totals(county, tmp_path):
    path, summary = build(county, tmp_path, report_type="assessment_roll", format="csv")
    roll, by_use, by_hood = csv_tables(path)
    header, rows = roll[0], roll[1:]
    active = Property.objects.filter(county=county, is_active=True)
    values = PropertyValue.objects.filter(county=county, roll_year=2026, source="pacs", property__is_active=True)
    assert len(rows) == active.count() == summary["parcels"]
    assert header[-1] == "exemptions"  # as PACS records them (the demo county has none)
    numbers = [row[header.index("parcel_number")] for row in rows]
    assert numbers == sorted(numbers)
    for name in ("land_value", "market_value", "assessed_value"):
        column = header.index(name)
        total = values.aggregate(total=Sum(name))["total"]
        assert sum(int(row[column] or 0) for row in rows) == total == summary["totals"][name]
    assert by_use[0] == ["Totals by use code"] and by_hood[0] == ["Totals by neighborhood"]
    assert sum(int(row[1]) for row in by_use[2:]) == active.count()  # parcels, per use code
    market = by_hood[1].index("market_value")
    assert sum(int(row[market] or 0) for row in by_hood[2:]) == summary["totals"]["market_value"]


def test_the_assessment_roll_xlsx_is_formatted_and_adds_up(county, tmp_path):
    path, summary = build(county, tmp_path, report_type="assessment_roll", format="xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["About", "Roll", "By use code", "By neighborhood"]
    sheet = book["Roll"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["Parcel number", "Owner"] and "Market value" in header
    market = header.index("Market value") + 1
    assert sheet.cell(row=2, column=market).number_format == "$#,##0"
    assert sheet.column_dimensions["A"].width > 10
    assert sheet.max_row - 1 == summary["parcels"]
    total = sum(sheet.cell(row=r, column=market).value or 0 for r in range(2, sheet.max_row + 1))
    assert total == summary["totals"]["market_value"]


def test_the_ratio_study_pdf_has_its_method_tables_charts_and_sales(county, tmp_path):
    path, summary = build(county, tmp_path, report_type="ratio_study", format="pdf", study={"resamples": 200})
    reader = pypdf.PdfReader(path)
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 4 and f"Page {len(reader.pages)} of {len(reader.pages)}" in text
    assert "Method" in text and "bootstrap resamples" in text and "By neighborhood" in text
    assert f"{summary['overall']['median']:.3f}" in text and ("pass" in text or "fail" in text)
    assert sum(len(page.images) for page in reader.pages) >= 3  # the charts
    assert "Sales used" in text and "Sales set aside" in text


def test_value_change_compares_the_roll_year_with_the_year_before(county, tmp_path):
    path, summary = build(county, tmp_path, report_type="value_change", format="csv")
    groups, largest = csv_tables(path)[0], csv_tables(path)[1]
    header, county_row = groups[0], groups[1]
    assert county_row[:2] == ["(county)", "(all)"]
    now = PropertyValue.objects.filter(county=county, roll_year=2026, source="pacs", property__is_active=True)
    before = PropertyValue.objects.filter(county=county, roll_year=2025, source="pacs", property__is_active=True)
    both = set(now.values_list("property_id", flat=True)) & set(before.values_list("property_id", flat=True))
    assert int(county_row[header.index("valued_both")]) == len(both) == summary["valued_both_years"]
    assert float(county_row[header.index("total_now")]) == sum(
        now.filter(property_id__in=both).values_list("market_value", flat=True)
    )
    bins = [int(county_row[header.index(f"bin_{i}")]) for i in range(7)]
    assert sum(bins) == len(both)
    changes = [abs(float(row[6])) for row in largest[2:]]
    assert changes == sorted(changes, reverse=True) and len(changes) == min(50, len(both))


def test_the_neighborhood_summary_has_a_page_per_neighborhood(county, tmp_path):
    path, _ = build(county, tmp_path, report_type="neighborhood_summary", format="pdf")
    reader = pypdf.PdfReader(path)
    codes = set(Property.objects.filter(county=county).values_list("neighborhood__code", flat=True))
    pages = [page.extract_text() for page in reader.pages]
    for code in codes:
        assert any(f"Neighborhood {code}" in page for page in pages), code
    assert len(reader.pages) >= len(codes) + 2


def test_a_format_a_report_has_not_is_refused_at_submission(county):
    analyst = user_with_role(county, "analyst", username="analyst")
    api = bearer_client(analyst)
    for parameters, field in [
        ({"report_type": "assessment_roll", "format": "pdf"}, "parameters.format"),
        ({"report_type": "value_change", "study": {"resamples": 100}}, "parameters.study"),
        ({"report_type": "ratio_study", "study": {"confidence": 2}}, "parameters.study.confidence"),
    ]:
        response = api.post(reverse("api:reporting-job-list"), {"county": "demo", "parameters": parameters},
                            format="json")  # fmt: skip
        assert response.status_code == 400 and field in response.json()["error"]["fields"], response.json()
    assert not ReportJob.objects.exists()


def test_a_roll_runs_in_a_worker_and_downloads_with_its_type_and_name(county, client):
    viewer = user_with_role(county, "viewer", username="viewer")
    analyst = user_with_role(county, "analyst", username="analyst")
    response = bearer_client(analyst).post(
        reverse("api:reporting-job-list"),
        {"county": "demo", "parameters": {"report_type": "assessment_roll", "format": "xlsx"}}, format="json",
    )  # fmt: skip
    assert response.status_code == 202
    assert run_burst_worker().returncode == 0
    job = ReportJob.objects.get(pk=response.json()["id"])
    assert job.status == "completed", job.error_message
    download = bearer_client(viewer).get(reverse("api:reporting-job-download", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="demo-assessment-roll-2026.xlsx"' in download["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
    assert book["Roll"].max_row - 1 == Property.objects.filter(county=county, is_active=True).count()
    # The admin lists the report with its download link.
    client.force_login(user_with_role(county, "viewer", username="staff-viewer", is_staff=True))
    listing = client.get(reverse("admin:reporting_reportjob_changelist")).content.decode()
    link = reverse("admin:reporting_reportjob_download", args=[job.pk])
    assert f'<a href="{link}">demo-assessment-roll-2026.xlsx</a>' in listing
    assert client.get(link)["Content-Type"] == download["Content-Type"]


def test_a_csv_roll_is_written_in_parts_by_workers_and_joined(county):
    analyst = user_with_role(county, "analyst", username="analyst")
    response = bearer_client(analyst).post(
        reverse("api:reporting-job-list"),
        {"county": "demo", "parameters": {"report_type": "assessment_roll", "format": "csv"}}, format="json",
    )  # fmt: skip
    assert response.status_code == 202
    workers = [start_burst_worker(REPORT_ROLL_PART_PARCELS="70") for _ in range(2)]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
    job = ReportJob.objects.get(pk=response.json()["id"])
    assert job.status == "completed", job.error_message
    active = Property.objects.filter(county=county, is_active=True)
    assert job.chunks_total == -(-active.count() // 70) and job.result["parts"] == job.chunks_total
    assert [entry["name"] for entry in job.files] == ["demo-assessment-roll-2026.csv"]  # the parts are gone
    download = bearer_client(analyst).get(reverse("api:reporting-job-download", args=[job.pk]))
    text = b"".join(download.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    roll = rows[: rows.index([])]  # up to the blank line before the totals
    numbers = [row[0] for row in roll[1:]]
    assert numbers == sorted(numbers) == sorted(active.values_list("parcel_number", flat=True))
    assert "Totals by use code" in text and "Totals by neighborhood" in text
