"""PACS loads: a roll year cut into ranges of prop_ids, each range read, checked and written in one transaction.

A range is the unit of work and of failure: it is read from PACS completely before anything is written, and
written (parcels, values, sales, audit rows, rejects) in one transaction, so a range is either applied whole or
not at all. Loads are idempotent (unchanged records are skipped by their hash, and upserts rewrite nothing
equal), so running a failed or interrupted load again completes it. Ranges are independent: any number of
workers run them in parallel (the job's chunks).
"""

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, InterfaceError, connections, transaction
from django.utils import timezone

from counties.config import county_config_dir
from ingestion.models import IngestionReject, Upload, UploadState
from ingestion.pacs.mapping import MAPPING_FILE, PacsMapping, pacs_mapping_load
from ingestion.pacs.reader import PacsReader
from ingestion.upload_validation import upload_validate
from ingestion.uploads import table_read
from properties.choices import ActorKind, ValueSource
from properties.models import Property
from properties.services import (
    Actor,
    properties_bulk_load,
    properties_range_lock,
    properties_stored,
    source_hashes,
    statistics_refresh,
)
from terrafusion.databases import PACS_ALIAS

OPEN_LOW, OPEN_HIGH = -(2**63), 2**63 - 1  # the first and last ranges are open: every key belongs to one
SOURCE_SYSTEM = "pacs"
REJECTS_IN_RESULT = 50


class PacsUnavailable(Exception):
    """PACS cannot be read (not configured, unreachable, gone mid-load): a message for an operator."""


class PacsMappingInvalid(Exception):
    """The county's pacs_mapping.yaml does not fit its PACS database; `problems` lists each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("pacs_mapping.yaml does not fit the PACS database:\n" + "\n".join(problems))


@dataclass(frozen=True)
class PacsSource:
    """What a load reads: the county's mapping and its PACS database, for one roll year."""

    mapping: PacsMapping
    reader: PacsReader
    roll_year: int


def pacs_mapping_for(county) -> PacsMapping:
    """The county's mapping file (counties/configs/<slug>/pacs_mapping.yaml), checked against the PACS schema."""
    return pacs_mapping_load(county_config_dir(county.slug) / MAPPING_FILE)


def pacs_source_open(
    *, county, roll_year: int | None, mapping: PacsMapping | None = None, connection=None
) -> PacsSource:
    """The county's PACS for `roll_year` (default: the newest year PACS holds), its mapping checked first against
    the schema (ConfigError) and then against the live database (PacsMappingInvalid); nothing is read before.

    `connection`: another PACS-shaped database than the `pacs` alias (the demo's fake PACS).
    """
    mapping = mapping or pacs_mapping_for(county)
    if connection is None:
        if PACS_ALIAS not in connections:
            raise PacsUnavailable("PACS is not configured: set PACS_DATABASE_URL (see README, Configuration).")
        connection = connections[PACS_ALIAS]
    reader = PacsReader(connection, mapping, roll_year or 0)
    try:
        problems = reader.columns_check()
        if not problems and roll_year is None:
            years = reader.years()
            if not years:
                raise PacsUnavailable("PACS holds no roll year (prop_supp_assoc is empty).")
            reader.roll_year = max(years)
    except (DatabaseError, InterfaceError) as exc:
        raise PacsUnavailable(_unreachable(exc)) from exc
    if problems:
        raise PacsMappingInvalid(problems)
    return PacsSource(mapping=mapping, reader=reader, roll_year=reader.roll_year)


def _unreachable(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"PACS could not be read ({first})."


def pacs_load_plan(source: PacsSource) -> list[tuple[int, int]]:
    """The ranges of prop_ids (low, high exclusive) a load of the year is cut into, covering every key."""
    try:
        ids = source.reader.prop_ids()
    except (DatabaseError, InterfaceError) as exc:
        raise PacsUnavailable(_unreachable(exc)) from exc
    size = settings.PACS_CHUNK_PROPERTIES  # a few seconds of work and a few tens of MB a part at 25,000
    bounds = [ids[index] for index in range(size, len(ids), size)]
    edges = [OPEN_LOW, *bounds, OPEN_HIGH]
    return list(pairwise(edges))


def pacs_load_range(*, county, source: PacsSource, key_range: tuple[int, int], job, dry_run: bool = False) -> dict:
    """Load one range in one transaction (rolled back for a dry run): the range's parcels as stored, then PACS's
    rows (whole, or only the properties whose row hash differs from the stored one), then the writes."""
    low, high = key_range
    actor = Actor(kind=ActorKind.JOB, job_id=job.pk, source=f"pacs {source.roll_year}")
    with transaction.atomic():
        properties_range_lock(county=county, key_range=key_range)  # another load of the range waits
        stored = properties_stored(county=county, key_range=key_range)
        known = source_hashes(stored, roll_year=source.roll_year, source_system=SOURCE_SYSTEM)
        try:
            chunk = source.reader.chunk(low, high, known)
        except (DatabaseError, InterfaceError) as exc:
            raise PacsUnavailable(
                f"{_unreachable(exc)[:-1]} while reading prop_ids {_bound(low)} to {_bound(high)}. Nothing of this "
                "part was written; parts already loaded stay loaded. Run the load again when PACS is back: it "
                "completes it."
            ) from exc
        result = properties_bulk_load(
            county=county,
            stored=stored,
            records=[{"property_id": r.property_id, "row_hash": r.row_hash, **r.values} for r in chunk.properties],
            sales=[{"property_id": s.property_id, "sale_id": s.sale_id, **s.values} for s in chunk.sales],
            neighborhoods=chunk.neighborhoods,
            roll_year=source.roll_year,
            actor=actor,
            source_system=SOURCE_SYSTEM,
            value_source=ValueSource.PACS,
            unchanged=chunk.unchanged,
        )
        IngestionReject.objects.bulk_create(
            IngestionReject(
                county=county, job=job, table=r.table, record_key=r.key, field=r.field, reason=r.reason,
                value=r.value[:200],
            )
            for r in chunk.rejects
        )  # fmt: skip
        if dry_run:
            transaction.set_rollback(True)
    return {
        "read": chunk.read,
        "skipped_types": chunk.skipped_types,
        "inactive_in_pacs": chunk.inactive,
        "udi_children": chunk.udi_children,
        "rejected": len(chunk.rejects),
        **result.as_dict(),
        "unmapped_codes": dict(chunk.unmapped),
        "rejects": [r.__dict__ for r in chunk.rejects[:REJECTS_IN_RESULT]],
    }


def _bound(value: int) -> str:
    return "the first" if value == OPEN_LOW else "the last" if value == OPEN_HIGH else f"{value:,}"


def pacs_load_combine(results: list[dict], *, county, roll_year: int, dry_run: bool) -> dict[str, Any]:
    """The load's result: the ranges' counts added up, and the first rejects. A load that wrote leaves the planner's
    statistics of the county's parcels up to date (statistics_refresh), for the syncs that follow."""
    totals: dict[str, Any] = {}
    rejects: list[dict] = []
    for result in results:
        for key, value in result.items():
            if key == "rejects":
                rejects.extend(value[: REJECTS_IN_RESULT - len(rejects)])
            elif isinstance(value, dict):  # counts by code
                merged = totals.setdefault(key, {})
                for name, count in value.items():
                    merged[name] = merged.get(name, 0) + count
            else:
                totals[key] = totals.get(key, 0) + value
    if not dry_run and (totals.get("inserted") or totals.get("updated")):
        statistics_refresh(county=county, parcels=Property.objects.filter(county=county).count())
    return {"roll_year": roll_year, "dry_run": dry_run, "parts": len(results), **totals, "first_rejects": rejects}


def upload_receive(*, county, kind: str, file, user, mapping: dict, sheet: str | None) -> Upload:
    """Read an uploaded file as a table of its kind (UploadRefused when it cannot be one) and keep it as it came,
    `uploaded`, for validation."""
    content = file.read()
    table = table_read(
        content, name=file.name, kind=kind, mapping=mapping, max_rows=settings.INGESTION_UPLOAD_MAX_ROWS, sheet=sheet
    )
    upload = Upload(
        county=county, kind=kind, original_name=file.name[:200], size=len(content), column_mapping=mapping,
        sheet=sheet or "", rows=len(table.rows), encoding=table.encoding, uploaded_by=user,
    )  # fmt: skip
    upload.file.save(file.name, ContentFile(content), save=False)
    upload.save()
    return upload


def upload_check(*, county, upload_id: str) -> dict:
    """Validate an uploaded file (ingestion/upload_validation.py) and keep its preview on the upload, which becomes
    `validated`; nothing else changes. The job's result is the preview's counts."""
    upload = Upload.objects.get(pk=upload_id, county=county)
    if upload.state != UploadState.UPLOADED:
        raise ValueError(f"The upload is {upload.state}: only an uploaded file is validated.")
    with upload.file.open("rb") as handle:
        content = handle.read()
    table = table_read(content, name=upload.original_name, kind=upload.kind, mapping=upload.column_mapping,
                       max_rows=settings.INGESTION_UPLOAD_MAX_ROWS, sheet=upload.sheet or None)  # fmt: skip
    preview = upload_validate(county=county, kind=upload.kind, table=table).as_dict()
    Upload.objects.filter(pk=upload.pk, state=UploadState.UPLOADED).update(
        state=UploadState.VALIDATED, preview=preview, validated_at=timezone.now()
    )
    return {
        "upload": str(upload.pk),
        **{key: preview[key] for key in ("rows", "insert", "update", "unchanged", "rejected")},
    }


class UploadDecisionRefused(Exception):
    """The upload cannot be approved or rejected now (its state), or not by this person (`four_eyes`)."""

    def __init__(self, message: str, *, four_eyes: bool = False):
        super().__init__(message)
        self.four_eyes = four_eyes


def upload_approve(*, upload: Upload, user, note: str = "") -> Upload:
    """A validated upload approved by a second person (never its uploader), under the row's lock."""
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.uploaded_by_id is not None and locked.uploaded_by_id == user.pk:
            raise UploadDecisionRefused("Four eyes: an upload is approved by another person than its uploader.",
                                        four_eyes=True)  # fmt: skip
        if locked.state != UploadState.VALIDATED:
            raise UploadDecisionRefused(f"The upload is {locked.state}: only a validated upload is approved.")
        rejected = (locked.preview or {}).get("rejected", 0)
        said = f"Approved by {user.get_username()}."
        if rejected:
            said = f"{said[:-1]}: only the valid rows apply; the {rejected:,} rejected rows are left out."
        locked.state, locked.approved_by, locked.approved_at = UploadState.APPROVED, user, timezone.now()
        locked.message = f"{said} {note}".strip()
        locked.save(update_fields=["state", "approved_by", "approved_at", "message"])
    return locked


def upload_reject(*, upload: Upload, user, note: str = "") -> Upload:
    """An upload not yet approved set aside for good: it will change nothing."""
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(pk=upload.pk)
        if locked.state not in (UploadState.UPLOADED, UploadState.VALIDATED):
            raise UploadDecisionRefused(f"The upload is {locked.state}: only one not yet approved is rejected.")
        locked.state = UploadState.REJECTED
        locked.message = f"Rejected by {user.get_username()}. {note}".strip()
        locked.save(update_fields=["state", "message"])
    return locked
