"""The deployments list at 1,000 deployments in one workspace: SQL queries of the API list at 10
and at 1,000 rows (must be equal), and p95 of the API's first page (page_size 50) and of the
Deployments page. Runs in its own process on a throwaway SQLite file (Django reads
DATABASE_URL once at setup)."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEPLOYMENTS = 1_000
RUNS = 100
API = "/api/v1/deployments/?page_size=50"
PAGE = "/deployments/"


def run() -> dict:
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='chbench-')) / 'list.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "computehub.settings"}
    done = subprocess.run([sys.executable, "-m", "bench.list", "pass"], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, check=False)
    if done.returncode:
        raise RuntimeError(f"bench pass failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _setup():
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()  # the test client's host is allowed
    from django.conf import settings

    # Production settings otherwise, but static URLs without a collectstatic manifest.
    settings.STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    call_command("migrate", verbosity=0)


def _clients():
    from rest_framework.test import APIClient

    from accounts.services import api_token_create, workspace_create
    from accounts.models import User
    from computehub.tests.api_helpers import signed_in
    from django.test import Client

    user = User.objects.create(email="bench@example.com")
    workspace = workspace_create(name="Bench", created_by=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, workspace=workspace, name='b')[1]}")
    return workspace, api, signed_in(Client(), user, workspace)


def _add(workspace, count: int) -> None:
    from deployments.tests.factories import CredentialFactory, DeploymentFactory, TemplateFactory

    template = TemplateFactory(workspace=workspace)
    credentials = [CredentialFactory(workspace=workspace, provider=p) for p in ("runpod", "vast", "lambda")]
    rows = [DeploymentFactory.build(workspace=workspace, credential=credentials[n % 3], template=template)
            for n in range(count)]
    type(rows[0]).objects.bulk_create(rows, batch_size=500)


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url, secure=True)  # warm: a token's first use writes last_used_at
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, secure=True)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return len(captured)


def _page_queries(client) -> int | None:
    try:
        return _queries(client, PAGE)
    except AssertionError:
        return None  # the page is not built (yet)


def _p95_ms(client, url: str) -> float | None:
    if client.get(url, secure=True).status_code != 200:
        return None  # the page is not built (yet)
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url, secure=True)
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.quantiles(samples, n=100, method="inclusive")[94], 2)


def one_pass() -> dict:
    _setup()
    workspace, api, browser = _clients()
    _add(workspace, 10)
    at_10, page_at_10 = _queries(api, API), _page_queries(browser)
    _add(workspace, DEPLOYMENTS - 10)
    return {"deployments": DEPLOYMENTS, "queries": _queries(api, API), "queries_at_10": at_10,
            "page_queries": _page_queries(browser), "page_queries_at_10": page_at_10,
            "p95_ms_api": _p95_ms(api, API), "p95_ms_page": _p95_ms(browser, PAGE)}


if __name__ == "__main__" and sys.argv[1:] == ["pass"]:
    print(json.dumps(one_pass()))
