"""The shared sandbox machinery, with a toy cloud: routing, auth, fault knobs, controls."""

import httpx
import pytest

from providers.sandbox.base import PriceDrift, Response, SandboxCloud
from providers.sandbox.server import control, serve

TOKEN = "test-control-token"


class ToyCloud(SandboxCloud):
    name = "toy"
    routes = [("GET", r"/v1/things/(?P<thing_id>\w+)", "get_thing")]

    def get_thing(self, request, key, thing_id):
        return Response.json({"id": thing_id, "owner": key[-4:]})


@pytest.fixture
def toy():
    cloud = ToyCloud()
    server = serve([cloud], control_token="test-control-token")
    yield cloud, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _get(base, path, key="sbx-good-key-1234"):
    return httpx.get(f"{base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=5)


def test_routes_under_the_cloud_prefix_with_a_good_key(toy):
    _, base = toy
    assert _get(base, "/toy/v1/things/abc").json() == {"id": "abc", "owner": "1234"}
    assert _get(base, "/toy/v1/nothing").status_code == 404
    assert _get(base, "/nocloud/v1/things/abc").status_code == 404


def test_refuses_a_key_it_does_not_know(toy):
    _, base = toy
    assert _get(base, "/toy/v1/things/abc", key="live-key").status_code == 401


def test_fault_knobs_set_over_http_change_answers(toy):
    cloud, base = toy
    control(base, "toy", token=TOKEN, outage=True)
    response = _get(base, "/toy/v1/things/abc")
    assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
    control(base, "toy", token=TOKEN)  # reset
    control(base, "toy", token=TOKEN, rate_limit_every=2)
    assert [_get(base, "/toy/v1/things/a").status_code for _ in range(4)] == [200, 429, 200, 429]
    bad = httpx.post(f"{base}/_sandbox/toy/faults", json={"nope": 1}, headers={"X-Sandbox-Control": TOKEN})
    assert bad.status_code == 400


@pytest.mark.parametrize("headers", [{}, {"X-Sandbox-Control": "wrong"}, {"X-Sandbox-Control": ""},
                                     {"Authorization": "Bearer sbx-good-key-1234"}])
def test_control_endpoints_refuse_requests_without_the_control_token(toy, headers):
    cloud, base = toy
    assert httpx.get(f"{base}/_sandbox/", headers=headers, timeout=5).status_code == 401
    refused = httpx.post(f"{base}/_sandbox/toy/faults", json={"outage": True}, headers=headers, timeout=5)
    assert refused.status_code == 401 and not cloud.faults.outage
    assert httpx.post(f"{base}/_sandbox/toy/reset", headers=headers, timeout=5).status_code == 401
    with pytest.raises(httpx.HTTPStatusError):
        control(base, "toy", token="wrong", outage=True)
    assert _get(base, "/toy/v1/things/abc").status_code == 200


def test_each_server_gets_its_own_random_control_token_by_default():
    one, two = serve([ToyCloud()]), serve([ToyCloud()])
    try:
        assert one.control_token and two.control_token and one.control_token != two.control_token
        base = f"http://127.0.0.1:{one.server_port}"
        assert httpx.get(f"{base}/_sandbox/", headers={"X-Sandbox-Control": one.control_token}).status_code == 200
        assert httpx.get(f"{base}/_sandbox/", headers={"X-Sandbox-Control": two.control_token}).status_code == 401
    finally:
        one.shutdown()
        two.shutdown()


def test_prices_drift_smoothly_and_identically_across_instances():
    clock = [0.0]
    one, two = PriceDrift(clock=lambda: clock[0]), PriceDrift(clock=lambda: clock[0])
    assert one.price(2.0, "offer-a") == two.price(2.0, "offer-a")
    seen = set()
    for hour in range(7):
        clock[0] = hour * 3600
        price = one.price(2.0, "offer-a")
        assert 2.0 * 0.92 <= price <= 2.0 * 1.08
        seen.add(price)
    assert len(seen) > 3
