"""Vast.ai's container logs (reference/providers.md §2.7): `request_logs` answers a result_url,
polled without the API key until the upload is there, read by the adapter from the sandbox over
loopback; and instances whose command ends by itself."""

import uuid

import httpx
import pytest

from automation.jobqueue.marker import wrap_command
from providers.adapters.base import InstanceSpec, InstanceStatus, NotFound, ProviderUnavailable
from providers.adapters.vast import VastAdapter
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture
from providers.tests.test_vast import cheapest_ask

KEY = "sbx-test-key-0001"
FROZEN = 1_786_000_000.0
BOOT_S, EVERY_S = 0.3, 2.0
BANNER = "[sandbox] container started from pytorch/pytorch:2.4.0 (run 1)"

cloud = cloud_fixture("vast", clock_at=FROZEN, boot_s=BOOT_S, log_every_s=EVERY_S, log_upload_s=0.1)
adapter = adapter_fixture(VastAdapter, KEY, log_poll_s=0.02)


async def launch(adapter, cloud, command=("python", "train.py"), **env) -> str:
    spec = InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=cheapest_ask(cloud),
                        image="pytorch/pytorch:2.4.0", command=tuple(command), env=env)
    return (await adapter.create_instance(spec)).instance_id


@pytest.fixture
def traffic(cloud, monkeypatch):
    """(method, path, authorization header, status) of every request the Vast sandbox answers."""
    seen, handle = [], cloud.handle

    def record(request):
        response = handle(request)
        seen.append((request.method, request.path, request.headers.get("authorization"), response.status))
        return response
    monkeypatch.setattr(cloud, "handle", record)
    return seen


async def test_the_log_tail_comes_in_order_from_a_result_url_fetched_without_the_key(adapter, cloud, traffic):
    instance = await launch(adapter, cloud)
    cloud.clock_.advance(BOOT_S + 3 * EVERY_S)

    lines = await adapter.fetch_logs(instance)

    assert [line.text for line in lines] == [BANNER, "working: step 1", "working: step 2", "working: step 3"]
    assert all(line.at is None for line in lines)  # docker's log file: no timestamps
    asked = [row for row in traffic if "request_logs" in row[1]]
    downloads = [row for row in traffic if row[1].startswith("/instance_logs/")]
    assert asked == [("PUT", f"/api/v0/instances/request_logs/{instance}/", f"Bearer {KEY}", 200)]
    assert downloads[-1][3] == 200 and {row[3] for row in downloads[:-1]} <= {404}  # polled until uploaded
    assert all(row[2] is None for row in downloads)  # the API key never travels to the file host


async def test_a_file_never_uploaded_gives_up_after_the_bounded_polls(adapter, cloud, traffic, monkeypatch):
    monkeypatch.setattr(cloud, "log_upload_s", 3600.0)
    monkeypatch.setattr(VastAdapter, "log_polls", 4)
    instance = await launch(adapter, cloud)
    with pytest.raises(ProviderUnavailable, match="did not upload the logs"):
        await adapter.fetch_logs(instance)
    assert [row[3] for row in traffic if row[1].startswith("/instance_logs/")] == [404] * 4


async def test_an_unknown_instance_is_not_found(adapter, cloud):
    with pytest.raises(NotFound):
        await adapter.fetch_logs("12345")
    with pytest.raises(NotFound):
        await adapter.fetch_logs("../bundles")  # never put into the path


async def test_a_command_that_ends_leaves_an_exited_instance_whose_log_ends_with_its_exit_code(adapter, cloud):
    instance = await launch(adapter, cloud, wrap_command(["python", "train.py"]), SANDBOX_EXIT_AFTER_S="5")
    cloud.clock_.advance(BOOT_S + 4.9)
    assert (await adapter.get_instance(instance)).status is InstanceStatus.RUNNING
    cloud.clock_.advance(0.1)

    ended = await adapter.get_instance(instance)
    assert (ended.status, ended.raw_status) == (InstanceStatus.FAILED, "exited")  # "will never become running"
    lines = [line.text for line in await adapter.fetch_logs(instance)]
    assert lines == [BANNER, "working: step 1", "working: step 2", "[computehub] exit code 0"]


# --- the wire protocol ---------------------------------------------------------------------------


async def request_logs(sandbox, instance, body) -> httpx.Response:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as client:
        return await client.put(sandbox.url("vast", f"/api/v0/instances/request_logs/{instance}/"), json=body)


async def test_tail_and_filter_are_applied_and_bad_ones_refused(sandbox, adapter, cloud, monkeypatch):
    monkeypatch.setattr(cloud, "log_upload_s", 0.0)
    instance = await launch(adapter, cloud)
    cloud.clock_.advance(BOOT_S + 5 * EVERY_S)

    answer = (await request_logs(sandbox, instance, {"tail": "2", "filter": "step [0-9]"})).json()
    assert answer["success"] is True and answer["result_url"].startswith(sandbox.url("vast", "/instance_logs/"))
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(answer["result_url"])).text == "working: step 4\nworking: step 5\n"

    for body in ({"tail": "many"}, {"tail": "-3"}, {"tail": "5", "filter": "("}):
        refused = await request_logs(sandbox, instance, body)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_args"
    missing = await request_logs(sandbox, "999", {"tail": "5"})
    assert missing.json() == {"success": False, "error": "invalid_id", "msg": "Instance 999 not found."}
