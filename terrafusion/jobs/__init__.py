"""The jobs framework: every long task is a row (a concrete BaseJob) first and an RQ job second.

- `models.BaseJob`: the abstract job row; `SomeJob.enqueue(...)` creates it and hands it to RQ after
  the transaction commits.
- `runner.JobRunner`: the thin class a kind subclasses; `runner.execute_job` is what RQ runs.
- `sweep.sweep_stale_jobs`: the periodic sweep (rqcron, `terrafusion.cron`) that fails jobs whose
  worker died, so no job stays `running` forever.
- `api`: the base viewset giving every kind its `/api/v1/<kind>/jobs/` endpoints.
"""
