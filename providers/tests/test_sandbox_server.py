"""The shared sandbox machinery, with a toy cloud: routing, auth, fault knobs, controls."""

import httpx
import pytest

from providers.sandbox.base import PriceDrift, Response, SandboxCloud
from providers.sandbox.server import control, serve


class ToyCloud(SandboxCloud):
    name = "toy"
    routes = [("GET", r"/v1/things/(?P<thing_id>\w+)", "get_thing")]

    def get_thing(self, request, key, thing_id):
        return Response.json({"id": thing_id, "owner": key[-4:]})


@pytest.fixture
def toy():
    cloud = ToyCloud()
    server = serve([cloud])
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
    control(base, "toy", outage=True)
    response = _get(base, "/toy/v1/things/abc")
    assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
    control(base, "toy")  # reset
    control(base, "toy", rate_limit_every=2)
    assert [_get(base, "/toy/v1/things/a").status_code for _ in range(4)] == [200, 429, 200, 429]
    assert httpx.post(f"{base}/_sandbox/toy/faults", json={"nope": 1}).status_code == 400


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
