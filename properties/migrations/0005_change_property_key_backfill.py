"""Existing audit rows take their parcel's legacy key (property id), in one UPDATE."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def backfill_property_key(apps, schema_editor):
    Property = apps.get_model("properties", "Property")
    PropertyChange = apps.get_model("properties", "PropertyChange")
    key = Property.objects.filter(pk=OuterRef("property_id")).values("property_id")[:1]
    PropertyChange.objects.filter(property_key__isnull=True).update(property_key=Subquery(key))


class Migration(migrations.Migration):
    dependencies = [("properties", "0004_change_trail_outlives_parcel")]

    # Backwards: the column is dropped by reversing 0004, so there is nothing to undo here.
    operations = [migrations.RunPython(backfill_property_key, migrations.RunPython.noop)]
