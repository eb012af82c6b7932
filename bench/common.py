"""What the database benches share: where results go, printing, the services they need, Django set up."""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def say(text: str = "") -> None:
    print(text, flush=True)


def services_configured(bench: str) -> bool:
    """Whether DATABASE_URL (PostgreSQL) and REDIS_URL are set, as `make bench` sets them; says so if not."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) and os.environ.get("REDIS_URL"):
        return True
    say(f"{bench} needs DATABASE_URL (PostgreSQL) and REDIS_URL: run `make bench`.")
    return False


def django_setup(migrate: bool = False) -> None:
    """Django set up; with `migrate`, the database migrated first (a bench run alone may find it new)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terrafusion.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def report_save(prefix: str, report: dict) -> Path:
    """The run's report as bench/results/<prefix>-<time>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    say(f"saved {path.relative_to(ROOT)}")
    return path
