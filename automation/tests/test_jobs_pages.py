"""The queue page: the table with status chips and attempt links, the submit form with inline
field errors (never a 500), cancel with confirmation, and Viewers reading only."""

import pytest

from automation.models import Job, JobAttempt, JobStatus
from automation.services.jobs import job_submit
from deployments.tests.factories import DeploymentFactory

GOOD = {"name": "train", "image": "python:3.12-slim", "command": ["python", "train.py"], "max_price_per_hour": 1.5}
FORM = {"name": "nightly", "template": "", "image": "python:3.12-slim", "command": "python -c 'print(1)'",
        "env": "MODE=test", "gpu_model": "", "min_gpus": "1", "min_vram_gb": "0", "max_price_per_hour": "2",
        "max_runtime_s": "600", "max_retries": "1", "allow_spot": "on"}


@pytest.fixture
def running_job(team):
    job = job_submit(workspace=team["workspace"], user=team["developer"], data=GOOD)
    deployment = DeploymentFactory(workspace=team["workspace"])
    JobAttempt.objects.create(job=job, number=1, deployment=deployment, provider="runpod", offer_id="x",
                              price_per_hour=0.44)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1, deployment=deployment)
    return job, deployment


def test_the_queue_shows_each_job_with_its_attempt_links(team, client_in, running_job):
    job, deployment = running_job
    page = client_in(team["viewer"], team["workspace"]).get("/automation/jobs/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-status="running"' in html and "$0.44" in html
    assert f"/deployments/{deployment.pk}/" in html and 'hx-trigger="every 5s"' in html
    assert "jobs-submit" not in html and "jobs-cancel" not in html and "/cancel/" not in html  # a Viewer reads only


def test_the_status_filter_and_the_polled_fragment(team, client_in, running_job):
    client = client_in(team["developer"], team["workspace"])
    assert "data-job=" not in client.get("/automation/jobs/?status=queued").content.decode()
    fragment = client.get("/automation/jobs/?status=running", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode() and "train" in fragment.content.decode()


def test_submitting_the_form_queues_the_job(team, client_in):
    response = client_in(team["developer"], team["workspace"]).post("/automation/jobs/submit/", FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/automation/jobs/"
    job = Job.objects.get()
    assert job.command == ["python", "-c", "print(1)"] and job.env == {"MODE": "test"} and job.max_retries == 1


def test_bad_form_input_shows_field_errors_inline(team, client_in):
    bad = FORM | {"name": "", "image": "Bad Image", "gpu_model": "", "min_gpus": "0", "max_price_per_hour": "0",
                  "max_runtime_s": "10", "command": "python 'unclosed", "env": "NOEQUALS"}
    response = client_in(team["developer"], team["workspace"]).post("/automation/jobs/submit/", bad, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 422 and "does not split like a shell line" in html and "NAME=value" in html
    retry = FORM | {"image": "Bad Image", "min_gpus": "0", "max_price_per_hour": "0", "max_runtime_s": "10"}
    html = client_in(team["developer"], team["workspace"]).post("/automation/jobs/submit/", retry,
                                                                HTTP_HX_REQUEST="true").content.decode()
    assert html.count("field-error") >= 4 and "From 60 seconds to 7 days" in html
    assert not Job.objects.exists()


def test_cancel_from_the_page(team, client_in):
    job = job_submit(workspace=team["workspace"], user=team["developer"], data=GOOD)
    client = client_in(team["developer"], team["workspace"])
    assert 'hx-confirm="Cancel train?' in client.get("/automation/jobs/").content.decode()
    response = client.post(f"/automation/jobs/{job.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="cancelled"' in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED


def test_viewers_cannot_submit_or_cancel_and_strangers_get_404(team, other_team, client_in):
    job = job_submit(workspace=team["workspace"], user=team["developer"], data=GOOD)
    viewer = client_in(team["viewer"], team["workspace"])
    assert viewer.post("/automation/jobs/submit/", FORM).status_code == 403
    assert viewer.post(f"/automation/jobs/{job.pk}/cancel/").status_code == 403
    stranger = client_in(other_team["admin"], other_team["workspace"])
    assert stranger.post(f"/automation/jobs/{job.pk}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and Job.objects.count() == 1
