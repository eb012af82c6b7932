"""manage.py setup_county <config-dir>: create or update a county, its role groups and its staff from files."""

from django.core.management.base import BaseCommand, CommandError

from counties.config import ConfigError, county_config_dir
from counties.services import county_setup_apply


class Command(BaseCommand):
    help = (
        "Create or update a county, its six role groups and its staff users from a configuration directory "
        "holding county.yaml and users.yaml (see counties/configs/README.md). All or nothing; running it again "
        "changes nothing and says so."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "config_dir", help="The configuration directory, or the slug of one under counties/configs/ (benton-wa)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; write nothing.")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Remove this county's roles from users who hold them but are not in users.yaml "
            "(without it they are listed and left as they are).",
        )
        parser.add_argument(
            "--password-links",
            action="store_true",
            help="Also print fresh set-password links for listed users who have not set a password yet.",
        )

    def handle(self, *args, config_dir, dry_run, prune, password_links, **options):
        directory = county_config_dir(config_dir)
        try:
            report = county_setup_apply(
                directory=directory, dry_run=dry_run, prune=prune, password_links=password_links
            )
        except ConfigError as exc:
            problems = "\n".join(f"  - {problem}" for problem in exc.problems)
            raise CommandError(
                f"{directory}: {len(exc.problems)} problem(s), nothing was written:\n{problems}"
            ) from None
        for line in report.lines():
            self.stdout.write(line)
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
