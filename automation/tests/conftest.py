"""Fixtures the automation tests share (the project-wide ones are in the root conftest.py)."""

import pytest


@pytest.fixture
def developer_api(team, api_client_for):
    """An API client acting as `team`'s Developer, who may write."""
    return api_client_for(team["developer"], team["workspace"])


@pytest.fixture
def no_task_queue(monkeypatch):
    """Nothing is handed to the task queue: these tests take the reconciler's steps themselves."""
    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kwargs: None)
