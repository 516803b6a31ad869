"""Liveness and readiness, headers on every response, the JSON error shape."""

from __future__ import annotations


def test_healthz_answers_ok(http):
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_ready_on_current_schema(http):
    r = http.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready"


def test_unknown_api_path_gets_json_error_shape(http):
    r = http.get("/api/nothing-here")
    assert r.status_code == 404
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == "not_found"


def test_request_id_is_echoed_when_well_formed(http):
    r = http.get("/healthz", headers={"X-Request-Id": "abcdef123456"})
    assert r.headers["X-Request-Id"] == "abcdef123456"
    r = http.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert r.headers["X-Request-Id"] != "bad id\twith spaces"
