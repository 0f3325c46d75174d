"""The jobs API and the submit checks: bad input names every bad field and stores nothing."""

import pytest

from automation.models import Job, JobStatus
from automation.services.jobs import job_submit
from computehub.errors import ApplicationError
from deployments.tests.factories import CredentialFactory, TemplateFactory

GOOD = {"name": "train", "image": "python:3.12-slim", "command": ["python", "train.py"], "max_price_per_hour": 1.5}


def test_submit_list_filter_detail_and_cancel(team, developer_api, api_client_for):
    CredentialFactory(workspace=team["workspace"], provider="runpod")
    body = GOOD | {"gpu_model": "rtx-4090", "min_gpus": 2, "max_retries": 1, "providers": ["runpod"], "env": {"A": "1"}}
    created = developer_api.post("/api/v1/jobs/", body, format="json")
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["status"] == "queued" and job["attempts"] == [] and job["min_gpus"] == 2 and job["providers"] == ["runpod"]

    viewer = api_client_for(team["viewer"], team["workspace"])
    assert [j["id"] for j in viewer.get("/api/v1/jobs/?status=queued").json()["results"]] == [job["id"]]
    assert viewer.get("/api/v1/jobs/?status=running").json()["results"] == []
    bad_filter = viewer.get("/api/v1/jobs/?status=sleeping")
    assert bad_filter.status_code == 400 and "status" in bad_filter.json()["error"]["fields"]
    assert viewer.get(f"/api/v1/jobs/{job['id']}/").json()["name"] == "train"
    assert viewer.post(f"/api/v1/jobs/{job['id']}/cancel/").status_code == 403

    cancelled = developer_api.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = developer_api.post(f"/api/v1/jobs/{job['id']}/cancel/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_another_workspaces_job_is_404(team, other_team, api_client_for):
    job = job_submit(workspace=team["workspace"], user=team["developer"], data=GOOD)
    stranger = api_client_for(other_team["admin"], other_team["workspace"])
    assert stranger.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 404
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_bad_input_over_the_api_names_every_field_and_stores_nothing(team, developer_api):
    body = {"name": "", "image": "Not An Image", "command": ["x"], "gpu_model": "gtx-9999", "min_gpus": 0,
            "min_vram_gb": -1, "max_price_per_hour": 0, "max_runtime_s": 30, "max_retries": 11,
            "providers": ["lambda"]}
    response = developer_api.post("/api/v1/jobs/", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"name", "image", "gpu_model", "min_gpus", "min_vram_gb", "max_price_per_hour", "max_runtime_s",
            "max_retries", "providers"} <= set(fields)
    assert not Job.objects.exists()

    wrong_types = developer_api.post("/api/v1/jobs/", GOOD | {"command": "python train.py", "allow_spot": "yes"},
                                     format="json")
    assert wrong_types.status_code == 400
    assert {"command", "allow_spot"} <= set(wrong_types.json()["error"]["fields"])
    unknown = developer_api.post("/api/v1/jobs/", GOOD | {"surprise": 1}, format="json")
    assert unknown.status_code == 400 and "surprise" in unknown.json()["error"]["fields"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"command": []}, "command"),
    ({"max_price_per_hour": None}, "max_price_per_hour"),
    ({"max_runtime_s": 7 * 24 * 3600 + 1}, "max_runtime_s"),
    ({"min_gpus": 17}, "min_gpus"),
    ({"min_gpus": 1.5}, "min_gpus"),
    ({"max_retries": -1}, "max_retries"),
    ({"template": 999999}, "template"),
    ({"env": {"1BAD": "x"}}, "env"),
    ({"allow_spot": "true"}, "allow_spot"),
])
def test_each_bad_field_is_refused_by_the_service(team, change, field):
    with pytest.raises(ApplicationError) as refused:
        job_submit(workspace=team["workspace"], user=team["developer"], data=GOOD | change)
    assert field in refused.value.fields
    assert not Job.objects.exists()


def test_a_template_fills_image_and_command(team):
    template = TemplateFactory(workspace=team["workspace"], image="pytorch/pytorch:2.4", command=["python", "run.py"])
    job = job_submit(workspace=team["workspace"], user=team["developer"],
                     data={"name": "from template", "template": template.pk, "max_price_per_hour": 2})
    assert job.template == template and job.image == "pytorch/pytorch:2.4" and job.command == []
    assert (job.min_gpus, job.max_runtime_s, job.max_retries, job.allow_spot) == (1, 3600, 2, True)
