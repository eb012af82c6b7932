"""The bench county, its user and token: everything the bench needs from the database.

The functions that import models are called after django.setup() (in bench/__main__.py).
"""

import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_SLUG = "bench"
BENCH_USERNAME = "bench-viewer"


def manage(args: list[str], *, env: dict[str, str], log_path: Path, echo: bool = True) -> tuple[float, list[str]]:
    """Run `manage.py <args>` (a separate process, as an operator would); echo and log its output.

    Returns the wall time in seconds and the output lines; raises CalledProcessError on failure.
    """
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    started = time.perf_counter()
    output = []
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(command[1:])}\n")
        log.flush()
        process = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for line in process.stdout:
            log.write(line)
            output.append(line.rstrip("\n"))
            if echo:
                print(f"    | {line}", end="", flush=True)
        returncode = process.wait()
    elapsed = time.perf_counter() - started
    if returncode != 0:
        raise subprocess.CalledProcessError(returncode, command)
    return elapsed, output


def command_exists(name: str) -> bool:
    from django.core.management import get_commands

    return name in get_commands()


def bench_county():
    from counties.models import County

    return County.objects.filter(slug=BENCH_SLUG).first()


def parcel_count(county) -> int:
    from properties.models import Property

    return Property.objects.filter(county=county).count()


def seed_with_factories(parcels: int, *, seed: int = 1) -> None:
    """A stand-in for generate_demo_county (`--seed-with-factories`): factory-built parcels, bulk inserted.

    Not a figure of the issue (generation is timed on generate_demo_county); only so the HTTP side can be
    exercised before that command exists.
    """
    import factory.random
    from django.db import transaction

    from properties.geometry import geometry_columns
    from properties.models import Property
    from terrafusion.testing.factories import CountyFactory, PropertyFactory

    factory.random.reseed_random(seed)
    with transaction.atomic():
        county = CountyFactory(slug=BENCH_SLUG, name="Bench County", fips_code="53999")
        Property.objects.filter(county=county).delete()
        batch = 5000
        for start in range(0, parcels, batch):
            rows = PropertyFactory.build_batch(min(batch, parcels - start), county=county)
            for row in rows:
                for name, value in geometry_columns(row.geometry).items():
                    setattr(row, name, value)
            Property.objects.bulk_create(rows, batch_size=batch)


def analyze() -> float:
    """ANALYZE the tables the API reads (autovacuum would, shortly after a bulk load); returns seconds."""
    from django.db import connection

    from counties.models import County
    from properties.models import Neighborhood, Property

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (Property, Neighborhood, County):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return time.perf_counter() - started


def bench_user_token(county) -> tuple[str, str]:
    """A `viewer` of the bench county only, and a JWT access token for it: (username, token)."""
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    from counties.services import user_set_county_roles

    User = get_user_model()
    user, _ = User.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"first_name": "Bench", "last_name": "Viewer", "is_active": True}
    )
    user.set_unusable_password()
    user.is_staff = user.is_superuser = False
    user.save()
    user.groups.clear()
    user_set_county_roles(user=user, county=county, roles=["viewer"])
    return user.username, str(RefreshToken.for_user(user).access_token)


def sample_ids(county, count: int, *, seed: int = 1) -> list[int]:
    from properties.models import Property

    ids = list(Property.objects.filter(county=county).values_list("id", flat=True))
    rng = random.Random(seed)
    return rng.sample(ids, min(count, len(ids)))


def id_at_row(county, row: int) -> int:
    """The id of the county's parcel at 0-based position `row` in id order (the API's order)."""
    from properties.models import Property

    return Property.objects.filter(county=county).order_by("id").values_list("id", flat=True)[row]


def database_context() -> dict:
    from django.db import connection

    from properties.models import Property

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SELECT pg_total_relation_size(%s)", [Property._meta.db_table])
        table_bytes = cursor.fetchone()[0]
    return {
        "vendor": connection.vendor,
        "server_version": version,
        "shared_buffers": shared_buffers,
        "property_table_mb": round(table_bytes / 2**20, 1),
        "properties_total": Property.objects.count(),
        "postmaster_pid": _parent_pid(backend_pid),  # None when the server is not on this machine
    }


def _parent_pid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
