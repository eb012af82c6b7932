"""Migration operations the job tables of every kind share (each app's migrations call them)."""

import mimetypes

from django.db import migrations


def result_file_to_files(app_label: str, model_name: str) -> migrations.RunPython:
    """Move a job's single `result_file` into the named `files` list (and back), so no file is lost."""

    def forward(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        for job in model.objects.exclude(result_file="").only("pk", "result_file").iterator():
            stored = job.result_file
            name = stored.name.rsplit("/", 1)[-1]
            entry = {
                "name": name,
                "title": name,
                "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
                "size": stored.storage.size(stored.name) if stored.storage.exists(stored.name) else 0,
                "path": stored.name,
            }
            model.objects.filter(pk=job.pk).update(files=[entry])

    def backward(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        for job in model.objects.exclude(files=[]).only("pk", "files").iterator():
            model.objects.filter(pk=job.pk).update(result_file=job.files[0]["path"])

    return migrations.RunPython(forward, backward, elidable=True)
