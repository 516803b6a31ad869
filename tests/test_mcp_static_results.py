"""2026-07-28 tools/list replayed from StaticResults is byte for byte what the SDK kernel answers.

The kernel answers the first envelope-only tools/list of a protocol version; later ones are its serialised
result replayed (app/mcp/modern.py). Each case clears the cache, takes the kernel's answer, then the replay,
and compares the raw bodies; a replay filled by one envelope must also equal the kernel's answer to another
(the answer depends on nothing but the version). Requests that carry more than the envelope, and requests the
validation ladder refuses, never reach the cache.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from app.mcp.wire import MODERN_VERSIONS

ACCEPT_BOTH = "application/json, text/event-stream"


def _envelope(version: str, variant: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    if variant in ("capabilities", "full"):
        meta["io.modelcontextprotocol/clientCapabilities"] = {"roots": {}, "sampling": {}}
    if variant in ("info", "full"):
        meta["io.modelcontextprotocol/clientInfo"] = {"name": "differential ✓", "version": "9.9"}
    return meta


VARIANTS = ["bare", "capabilities", "info", "full"]
IDS: list[int | str] = [1, 0, -7, 2**53, "a", "ідентифікатор", 'quote"and\\slash']


def _post(http: httpx2.Client, auth: dict[str, str], version: str, params: dict[str, Any], request_id: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params}
    headers = {**auth, "Accept": ACCEPT_BOTH, "MCP-Protocol-Version": version, "Mcp-Method": "tools/list"}
    return http.post("/mcp", content=json.dumps(body).encode(), headers={**headers, "Content-Type": "application/json"})


def _clear(server: Any) -> None:
    async def clear() -> None:
        server.runtime.services.mcp_sessions.static_results.clear()

    server.call(clear())


def _cached(server: Any) -> int:
    async def count() -> int:
        return len(server.runtime.services.mcp_sessions.static_results)

    return int(server.call(count()))


def _answer(r: Any) -> tuple[int, str, bytes]:
    return r.status_code, r.headers["Content-Type"], r.content


@pytest.mark.parametrize("version", sorted(MODERN_VERSIONS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_replayed_tools_list_is_the_kernels_answer(
    server: Any, http: httpx2.Client, auth: dict[str, str], version: str, variant: str
) -> None:
    params = {"_meta": _envelope(version, variant)}
    for request_id in IDS:
        _clear(server)
        kernel = _answer(_post(http, auth, version, params, request_id))
        assert _cached(server) == 1  # the kernel answered, and its result is kept
        replayed = _answer(_post(http, auth, version, params, request_id))
        assert kernel[0] == 200 and json.loads(kernel[2])["result"]["tools"]
        assert replayed == kernel, f"id {request_id!r}"
        for other in VARIANTS:  # filled from this envelope, replayed for every other one
            _clear(server)
            from_other = _answer(_post(http, auth, version, {"_meta": _envelope(version, other)}, request_id))
            assert from_other == kernel, f"id {request_id!r}, {other} after {variant}"


def test_the_list_carries_the_public_cache_hint(http: httpx2.Client, auth: dict[str, str]) -> None:
    for version in sorted(MODERN_VERSIONS):
        result = _post(http, auth, version, {"_meta": _envelope(version, "bare")}, 1).json()["result"]
        assert result["cacheScope"] == "public"
        assert result["ttlMs"] == 300_000


@pytest.mark.parametrize(
    "extra",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": ""},
        {"_meta_progress": True},
        {"_meta_log": True},
    ],
)
def test_requests_with_more_than_the_envelope_go_to_the_kernel(
    server: Any, http: httpx2.Client, auth: dict[str, str], extra: dict[str, Any]
) -> None:
    version = sorted(MODERN_VERSIONS)[-1]
    _post(http, auth, version, {"_meta": _envelope(version, "bare")}, 1)  # the cache is filled
    meta = _envelope(version, "bare")
    params: dict[str, Any] = {"_meta": meta}
    if extra.pop("_meta_progress", False):
        meta["progressToken"] = "p"
    if extra.pop("_meta_log", False):
        meta["io.modelcontextprotocol/logLevel"] = "debug"
    params.update(extra)
    cached = _answer(_post(http, auth, version, params, 5))
    _clear(server)
    fresh = _answer(_post(http, auth, version, params, 5))
    assert _cached(server) == 0  # not a request whose answer is kept
    assert cached == fresh


@pytest.mark.parametrize(
    "case",
    ["version-mismatch", "method-header-mismatch", "no-envelope", "not-json", "params-not-object"],
)
def test_refusals_are_the_same_with_the_cache_filled(
    server: Any, http: httpx2.Client, auth: dict[str, str], case: str
) -> None:
    version = sorted(MODERN_VERSIONS)[-1]
    headers = {
        **auth,
        "Accept": ACCEPT_BOTH,
        "MCP-Protocol-Version": version,
        "Mcp-Method": "tools/list",
        "Content-Type": "application/json",
    }
    body: Any = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"_meta": _envelope(version, "bare")}}
    if case == "version-mismatch":
        body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2025-11-25"
    elif case == "method-header-mismatch":
        headers["Mcp-Method"] = "tools/call"
    elif case == "no-envelope":
        body["params"] = {}
    elif case == "params-not-object":
        body["params"] = ["x"]
    raw = b"{not json" if case == "not-json" else json.dumps(body).encode()

    def answer() -> tuple[int, str, bytes]:
        return _answer(http.post("/mcp", content=raw, headers=headers))

    _clear(server)
    fresh = answer()
    _post(http, auth, version, {"_meta": _envelope(version, "bare")}, 1)  # fill the cache
    assert answer() == fresh
    assert fresh[0] >= 400 or "error" in json.loads(fresh[2])
