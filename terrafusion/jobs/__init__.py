"""The jobs framework: every long task is a row (a concrete BaseJob) first and an RQ job second.

- `registry.JobKind`: a kind's one declaration (model, runner, parameters serializer, run codename), in
  its app's `jobs.py`; the API, admin, dispatch, sweep, metrics and access tests follow from it.
- `models.BaseJob`: the abstract job row.
- `runner`: `job_start`/`job_enqueue` create the row and hand it to RQ after the transaction commits;
  `JobRunner` is the thin class a kind subclasses; `execute_job`/`execute_chunk` are what RQ runs.
- `sweep.sweep_stale_jobs`: the periodic sweep (rqcron, `terrafusion.cron`) that fails jobs whose
  worker died, so no job stays `running` forever.
- `api`: every kind's `/api/v1/<kind>/jobs/` endpoints, built from its declaration.
"""
