"""REST access to the tools: listing, calling, the bad inputs (404/415/413/422/400), auth, and OpenAPI 3.1."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from openapi_spec_validator import validate

from tests.helpers_http import CheckedClient
from tests.helpers_tokens import access_token, api_key, bearer


def test_lists_the_tools_with_their_schemas(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    r = http.get("/api/tools", headers=auth)
    assert r.status_code == 200
    tools = {t["name"]: t for t in r.json()["tools"]}
    info = tools["server_info"]
    assert info["title"] == "Server information" and info["description"]
    assert info["inputSchema"]["type"] == "object" and info["outputSchema"]["type"] == "object"
    assert info["annotations"]["readOnlyHint"] is True
    # The same names, in the same order, as MCP's tools/list.
    registry = server.runtime.services.tools
    assert list(tools) == [t.name for t in registry]


def test_calls_a_tool_and_returns_its_structured_result(
    server: Any, http: httpx2.Client, auth: dict[str, str], user: dict[str, Any]
) -> None:
    r = http.post("/api/tools/server_info", json={}, headers=auth)
    assert r.status_code == 200
    assert r.json()["name"] == "SecondLayer"
    assert r.json()["caller"] == {"email": user["email"], "auth": "api_key"}
    # An empty body is an empty argument object.
    r = http.post("/api/tools/server_info", content=b"", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 200


def test_an_oauth_access_token_works_too(server: Any, http: httpx2.Client, dbrun: Any, user: dict[str, Any]) -> None:
    token = access_token(dbrun, user, audience=server.url + "/mcp")
    r = http.post("/api/tools/server_info", json={}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["caller"]["auth"] == "oauth"


def test_unknown_tool_is_404(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    r = http.post("/api/tools/no_such_tool", json={}, headers=auth)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_tool"


def test_non_json_body_is_415(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    r = http.post(
        "/api/tools/server_info",
        content=b"query=x",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"


def test_unparseable_json_is_400(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    r = http.post("/api/tools/server_info", content=b"{", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


def test_oversized_body_is_413(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    body = json.dumps({"padding": "x" * server.settings.max_body_bytes})
    r = http.post("/api/tools/server_info", content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    # The connection stays usable for the next request.
    assert http.get("/api/tools", headers=auth).status_code == 200


def test_far_oversized_body_is_refused_at_once(server: Any, auth: dict[str, str]) -> None:
    # Past 16x the limit the server does not read the body at all; it answers 413 and closes.
    size = server.settings.max_body_bytes * 17
    with CheckedClient(server.url) as client:
        try:
            r = client.post(
                "/api/tools/server_info", content=b"x" * size, headers={**auth, "Content-Type": "application/json"}
            )
        except httpx2.TransportError:
            return  # the server closed while we were still sending: also a refusal
        assert r.status_code == 413 and r.headers.get("Connection") == "close"


@pytest.mark.parametrize(("arguments", "field"), [({"surprise": 1}, "surprise"), ([1, 2], "")])
def test_invalid_arguments_are_422_naming_the_field(
    server: Any, http: httpx2.Client, auth: dict[str, str], arguments: Any, field: str
) -> None:
    r = http.post("/api/tools/server_info", json=arguments, headers=auth)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_arguments" and error["field"] == field
    assert (field or "arguments") in error["message"]


def test_api_needs_a_bearer_credential(server: Any, http: httpx2.Client) -> None:
    for method, path in (("GET", "/api/tools"), ("POST", "/api/tools/server_info"), ("GET", "/api/openapi.json")):
        r = http.request(method, path, json={} if method == "POST" else None)
        assert r.status_code == 401 and "resource_metadata=" in r.headers["WWW-Authenticate"]
    r = http.get("/api/tools", headers=bearer("sl_" + "x" * 43))
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_openapi_document_is_valid_openapi_31(server: Any, http: httpx2.Client, auth: dict[str, str]) -> None:
    r = http.get("/api/openapi.json", headers=auth)
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    registry = server.runtime.services.tools
    for tool in registry:
        operation = doc["paths"][f"/api/tools/{tool.name}"]["post"]
        assert operation["operationId"] == tool.name
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema.get("properties") == tool.input_schema.get("properties")
        assert {"404", "413", "415", "422"} <= set(operation["responses"])
    assert doc["servers"] == [{"url": server.url}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_readme_curl_examples_work(server: Any, dbrun: Any, user: dict[str, Any]) -> None:
    import re
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## REST access to the tools", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.startswith("curl ")]
    assert len(commands) >= 4
    env = {"URL": server.url, "KEY": api_key(dbrun, user), "PATH": "/usr/bin:/bin"}
    for command in commands:
        done = subprocess.run(
            ["sh", "-c", command + " -w '\\n%{http_code}'"], env=env, capture_output=True, text=True, timeout=30
        )
        body, _, status = done.stdout.rpartition("\n")
        assert done.returncode == 0 and status == "200", (command, status, body[:300])
        assert "error" not in json.loads(body), command
