"""The error answers each operation documents, by its shape, in the one error shape."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.api.app import create_app
from dispatch.api.errors import errors_of
from dispatch.settings import Settings

OPERATOR: dict[str, Any] = {"security": [{"HTTPBearer": []}]}
PATH_ID: dict[str, Any] = {"parameters": [{"name": "call_id", "in": "path"}]}
QUERY: dict[str, Any] = {"parameters": [{"name": "limit", "in": "query"}]}
BODY: dict[str, Any] = {"requestBody": {"content": {"application/json": {}}}}


@pytest.mark.parametrize(
    ("method", "operation", "statuses"),
    [
        ("get", {}, []),
        ("get", OPERATOR, [401, 403]),
        ("get", {**OPERATOR, **QUERY}, [401, 403, 422]),
        ("get", {**OPERATOR, **PATH_ID}, [401, 403, 404, 422]),
        ("post", {**OPERATOR, **BODY}, [400, 401, 403, 404, 409, 422]),
        ("post", {**OPERATOR, **PATH_ID}, [401, 403, 404, 409, 422]),
        ("post", OPERATOR, [401, 403]),  # logout: nothing named, nothing to clash with
        ("post", BODY, [400, 422]),  # login: its own 401 and 429 are on the route
    ],
)
def test_errors_follow_the_operations_shape(
    method: str, operation: dict[str, Any], statuses: list[int]
) -> None:
    assert errors_of(method, operation) == statuses


def test_every_error_in_the_schema_is_the_one_error_shape() -> None:
    schema = create_app(Settings(database_url="", redis_url="", _env_file=None)).openapi()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert set(schema["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message"}
    shapes = {
        str(response["content"]["application/json"]["schema"])
        for path in schema["paths"].values()
        for operation in path.values()
        for status, response in operation["responses"].items()
        if status.startswith("4")
    }
    assert shapes == {"{'$ref': '#/components/schemas/ErrorBody'}"}
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "429"} <= set(login)
