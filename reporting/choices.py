from django.db import models


class ReportType(models.TextChoices):
    COUNTY_SUMMARY = "county_summary", "County summary (parcels and values by neighborhood and class)"
    ASSESSMENT_ROLL = "assessment_roll", "Assessment roll (every active parcel of a roll year)"
    RATIO_STUDY = "ratio_study", "Ratio study (IAAO statistics with intervals, charts and the sales)"
    VALUE_CHANGE = "value_change", "Value change (a roll year against the previous one)"
    NEIGHBORHOOD_SUMMARY = "neighborhood_summary", "Neighborhood summary (a page per neighborhood)"


class ReportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    PDF = "pdf", "PDF"


# What each report can be written as: a roll of a million parcels is no PDF.
FORMATS = {
    ReportType.COUNTY_SUMMARY: (ReportFormat.CSV, ReportFormat.XLSX, ReportFormat.PDF),
    ReportType.ASSESSMENT_ROLL: (ReportFormat.CSV, ReportFormat.XLSX),
    ReportType.RATIO_STUDY: (ReportFormat.PDF, ReportFormat.XLSX, ReportFormat.CSV),
    ReportType.VALUE_CHANGE: (ReportFormat.PDF, ReportFormat.XLSX, ReportFormat.CSV),
    ReportType.NEIGHBORHOOD_SUMMARY: (ReportFormat.PDF, ReportFormat.XLSX, ReportFormat.CSV),
}
CONTENT_TYPES = {
    ReportFormat.CSV: "text/csv",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}
