"""`job_id` for computehub/tests/test_api_access.py: a queued job of the workspace."""


def _job(workspace, scenario):
    from automation.models import Job

    return Job.objects.create(workspace=workspace, name="addressed", image="python:3.12-slim", command=["true"],
                              max_price_per_hour=1.0, created_by=scenario.subject).pk


URL_KWARGS = {"job_id": _job}
