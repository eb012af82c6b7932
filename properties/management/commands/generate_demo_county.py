"""manage.py generate_demo_county: a synthetic county (parcels, values, sales from a known model) for demos."""

from django.core.management.base import BaseCommand, CommandError

from properties.demo import DemoCountyError, demo_county_generate


class Command(BaseCommand):
    help = (
        "Create a synthetic county around Kennewick/Richland WA: neighborhoods, parcels with polygons, "
        "characteristics, two roll years of values and five years of sales, all from a known price model "
        "stored in the county's settings (demo_model). The same --seed and --parcels give the same data. "
        "All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="The county's slug, e.g. demo.")
        parser.add_argument("--parcels", type=int, required=True, help="How many parcels, e.g. 20000.")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--name", default="Demo County", help='The county\'s name (default "Demo County").')
        parser.add_argument("--fips", help="A 5-digit FIPS code (default: a free made-up one, 53999 downwards).")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Delete an existing county of this slug, with all its data, first; only a county this command "
            "made (its settings carry the generated_by marker), any other is refused and left as it is.",
        )

    def handle(self, *args, slug, parcels, seed, name, fips, replace, **options):
        try:
            summary = demo_county_generate(slug=slug, parcels=parcels, seed=seed, name=name, fips=fips, replace=replace)
        except DemoCountyError as exc:
            raise CommandError(str(exc)) from None
        verb = "Replaced" if summary.replaced else "Created"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} county {summary.slug!r} (FIPS {summary.fips_code}, working roll {summary.working_year}, "
                f"certified {summary.certified_year}) in {summary.seconds:.1f} s:"
            )
        )
        self.stdout.write(f"  neighborhoods  {summary.neighborhoods:>10,}")
        self.stdout.write(f"  parcels        {summary.parcels:>10,}")
        self.stdout.write(f"  value rows     {summary.value_rows:>10,}")
        self.stdout.write(
            f"  sales          {summary.sales:>10,}  ({summary.valid_sales:,} valid, {summary.invalid_sales:,} invalid)"
        )
