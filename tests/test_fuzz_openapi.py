"""Schema-driven fuzzing from the published contract: every operation of /api/openapi.json, as the running server
serves it, is called with request bodies generated from its own requestBody schema (`instances()` turns the
JSON Schema keywords the contract uses into hypothesis strategies), and with bodies that break it. Every answer
must be one the document lists for that operation, in the JSON shape it promises, and never a 500. A few
hundred cases, derandomized so CI meets the same ones on every run.
"""

from __future__ import annotations

import os
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers_tokens import api_key, bearer

CASES = int(os.environ.get("FUZZ_EXAMPLES", "20"))  # per operation and kind; 13 tools x 2 kinds x 20 = 520 calls
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def _contract() -> dict[str, Any]:
    """The OpenAPI document the server publishes (the same code builds it; the test below checks they agree)."""
    from app.config import load_settings
    from app.tools.catalog import openapi_document
    from app.tools.registry import default_registry

    return openapi_document(default_registry(), load_settings({}))


CONTRACT = _contract()
OPERATIONS = sorted(path for path, item in CONTRACT["paths"].items() if "post" in item)
NOT_THE_SCHEMA = st.one_of(
    st.dictionaries(
        st.text(max_size=12),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40)),
        max_size=4,
    ),
    st.lists(st.integers(), max_size=3),
    st.text(max_size=20),
    st.integers(),
    st.none(),
)


def instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against `schema`, for the keywords the tools' input schemas use (a keyword this does not
    know fails the test, so the generator cannot silently drift from the contract)."""
    known = {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "description",
        "default",
        "enum",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
    }
    unknown = set(schema) - known
    assert not unknown, f"teach instances() the keywords {unknown}"
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: instances(sub) for name, sub in properties.items() if name in required},
            optional={name: instances(sub) for name, sub in properties.items() if name not in required},
        )
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if "pattern" in schema:
            text = st.from_regex(schema["pattern"], fullmatch=True)
        elif schema.get("format") == "date":
            text = st.dates().map(lambda d: d.isoformat())
        else:
            text = st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 60), 60))
        low, high = schema.get("minLength", 0), schema.get("maxLength", 10**6)
        return text.filter(lambda value: low <= len(value) <= high)
    raise AssertionError(f"teach instances() the type {kind!r}")


def _check(operation: dict[str, Any], response: httpx2.Response) -> None:
    documented = set(operation["responses"])
    assert str(response.status_code) in documented, (response.status_code, response.text[:300])
    assert response.status_code < 500, response.text[:300]
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body


def test_the_published_document_is_the_one_fuzzed(http: httpx2.Client, dbrun: Any, make_user: Any) -> None:
    served = http.get("/api/openapi.json", headers=bearer(api_key(dbrun, make_user()))).json()
    assert sorted(served["paths"]) == sorted(CONTRACT["paths"])
    for path in OPERATIONS:
        assert served["paths"][path]["post"]["requestBody"] == CONTRACT["paths"][path]["post"]["requestBody"]


@pytest.mark.parametrize("path", OPERATIONS)
def test_bodies_generated_from_the_schema(api: httpx2.Client, path: str) -> None:
    operation = CONTRACT["paths"][path]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]

    @FUZZ
    @given(body=instances(schema))
    def run(body: Any) -> None:
        _check(operation, api.post(path, json=body))

    run()
    assert api.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", OPERATIONS)
def test_bodies_that_break_the_schema(api: httpx2.Client, path: str) -> None:
    operation = CONTRACT["paths"][path]["post"]

    @FUZZ
    @given(body=NOT_THE_SCHEMA)
    def run(body: Any) -> None:
        response = api.post(path, json=body)
        _check(operation, response)

    run()
