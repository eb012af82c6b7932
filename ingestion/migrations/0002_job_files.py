"""A job's result files are named and several (`files`); its one `result_file` becomes the first of them."""

from django.db import migrations, models

from terrafusion.jobs.migration_operations import result_file_to_files


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestionjob",
            name="files",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Named result files, the main one first: [{name, title, content_type, size, path}].",
            ),
        ),
        result_file_to_files("ingestion", "ingestionjob"),
        migrations.RemoveField(
            model_name="ingestionjob",
            name="result_file",
        ),
    ]
