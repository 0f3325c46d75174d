"""The OpenAPI schema: generated without warnings, valid, and documenting every routed endpoint."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from computehub.tests.api_routes import api_routes


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_every_api_route_is_documented(schema):
    missing = [route.schema_path for route in api_routes() if route.schema_path not in schema["paths"]]
    assert not missing, f"routes absent from the OpenAPI schema: {missing}"


def test_every_implemented_method_is_documented_with_unique_operation_ids(schema):
    ids = []
    for route in api_routes():
        operations = schema["paths"][route.schema_path]
        assert set(route.methods) <= set(operations), (route.route, route.methods, list(operations))
        ids += [operations[method]["operationId"] for method in route.methods]
    assert len(ids) == len(set(ids)), sorted(ids)


def test_errors_are_documented_with_the_shared_shape(schema):
    error_ref = "#/components/schemas/Error"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"]["$ref"] == error_ref, (path, method)
            assert "401" in operation["responses"], (path, method)


def test_schema_and_docs_are_served(db):
    client = APIClient()
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
