"""Fixtures serving the sandbox clouds over real HTTP on loopback, for adapter and refresh tests."""

from dataclasses import dataclass

import pytest

from providers.sandbox import all_clouds
from providers.sandbox.base import SandboxCloud
from providers.sandbox.server import serve


@dataclass
class RunningSandbox:
    root_url: str
    clouds: dict[str, SandboxCloud]
    control_token: str = ""  # for providers.sandbox.server.control(..., token=...)

    def url(self, name: str, path: str = "") -> str:
        """Where cloud `name` answers; `path` is the real API's path prefix (e.g. "/api/v1")."""
        return f"{self.root_url}/{name}{path}"

    def reset(self) -> None:
        for cloud in self.clouds.values():
            cloud.reset()


@pytest.fixture(scope="session")
def _sandbox_server():
    clouds = all_clouds()
    server = serve(clouds)
    yield RunningSandbox(f"http://127.0.0.1:{server.server_port}", {cloud.name: cloud for cloud in clouds},
                         server.control_token)
    server.shutdown()


@pytest.fixture
def sandbox(_sandbox_server):
    """Every sandbox cloud on one loopback port, with knobs off and no instances."""
    _sandbox_server.reset()
    yield _sandbox_server
    _sandbox_server.reset()
