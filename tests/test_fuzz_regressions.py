"""Regressions found by the property-based tests (tests/test_fuzz_tools.py, tests/test_fuzz_import.py): each
input once made the server answer 500, drop a session or crash the importer. Each is kept here as a plain test."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from tests.helpers_mcp import messages, open_session, request_body, session_headers
from tests.helpers_server import run_db

pytestmark = pytest.mark.usefixtures("demo_corpus")


def post(http: httpx2.Client, auth: dict[str, str], name: str, arguments: Any) -> httpx2.Response:
    # json.dumps escapes lone surrogates as \ud800, the way a client sends them.
    return http.post(
        f"/api/tools/{name}", content=json.dumps(arguments), headers={**auth, "Content-Type": "application/json"}
    )


def assert_error(r: httpx2.Response, status: int, code: str, field: str) -> None:
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["field"] == field and error["message"], error


# PostgreSQL text holds no NUL, and a lone surrogate is not UTF-8: both reached psycopg2 and gave a 500.
@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("search_court_cases", {"query": "a\x00b"}, "query"),
        ("search_court_cases", {"query": "суд", "court": "Верховний\x00"}, "court"),
        ("get_case_decisions", {"case_number": "\x00"}, "case_number"),
        ("get_legislation", {"act": "435-15\ud800"}, "act"),
        ("resolve_citations", {"text": "ст. 625 ЦК\x00"}, "text"),
        ("get_bill", {"number": "x\udfff"}, "number"),
        ("search_bills", {"query": "\udc00\ud800"}, "query"),
        ("search", {"query": "a\x00b"}, "query"),
        ("fetch", {"id": "act:\x00"}, "id"),
    ],
)
def test_nul_and_lone_surrogates_are_422(
    http: httpx2.Client, auth: dict[str, str], name: str, arguments: dict[str, Any], field: str
) -> None:
    assert_error(post(http, auth, name, arguments), 422, "invalid_arguments", field)


# An unexpected argument named by a lone surrogate: writing the 422 that names it failed, and the client got an
# empty 500. The field comes back as the same JSON escape it was sent as.
def test_an_argument_named_by_a_lone_surrogate_is_a_422_naming_it(http: httpx2.Client, auth: dict[str, str]) -> None:
    r = post(http, auth, "search_court_cases", {"query": "суд", "\ud800": 1})
    assert b'"field": "\\ud800"' in r.content
    assert_error(r, 422, "invalid_arguments", "\ud800")


# JSON Schema counts 1.0 as an integer, so 1.0 passed validation and then broke slicing (TypeError, 500).
def test_integral_floats_work_as_integers(http: httpx2.Client, auth: dict[str, str]) -> None:
    page = post(http, auth, "search_court_cases", {"query": "договір", "limit": 1.0})
    assert page.status_code == 200 and len(page.json()["results"]) == 1, page.text
    following = post(
        http, auth, "search_court_cases", {"query": "договір", "limit": 1.0, "cursor": page.json()["next_cursor"]}
    )
    assert following.status_code == 200 and following.json()["results"], following.text
    doc_id = page.json()["results"][0]["doc_id"]
    window = post(http, auth, "get_court_decision", {"doc_id": float(doc_id), "offset": 3.0, "max_chars": 500.0})
    assert window.status_code == 200, window.text
    assert window.json()["text_offset"] == 3 and len(window.json()["text"]) <= 500
    assert isinstance(window.json()["next_offset"], int)


# str.isdigit() accepts ², ٣ and other digits that int() refuses: fetch court:² was a 500.
@pytest.mark.parametrize("document_id", ["court:²", "court:²³", "court:①"])
def test_fetch_court_ids_are_ascii_digits(http: httpx2.Client, auth: dict[str, str], document_id: str) -> None:
    assert_error(post(http, auth, "fetch", {"id": document_id}), 404, "not_found", "id")


# fetch answered 404 naming reg_number, article, number or edrpou: arguments of other tools, not of fetch.
@pytest.mark.parametrize(
    "document_id", ["article:435-15:", "article::", "article:435-15:99999", "act:nope", "bill:nope", "company:00000000"]
)
def test_fetch_not_found_names_its_own_argument(http: httpx2.Client, auth: dict[str, str], document_id: str) -> None:
    assert_error(post(http, auth, "fetch", {"id": document_id}), 404, "not_found", "id")


# Over MCP, the same lone-surrogate argument name (or tool name) was echoed into the reply, which could not be
# encoded: the session's task crashed and the session was gone for every later request.
def test_a_lone_surrogate_does_not_end_an_mcp_session(http: httpx2.Client, auth: dict[str, str]) -> None:
    headers = {**session_headers(auth, open_session(http, auth)), "Content-Type": "application/json"}

    def call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        body = request_body("tools/call", {"name": name, "arguments": arguments}, request_id=request_id)
        r = http.post("/mcp", content=json.dumps(body), headers=headers)
        assert r.status_code == 200, r.text
        (reply,) = [m for m in messages(r.text) if m.get("id") == request_id]
        return reply

    bad_key = call(2, "search_court_cases", {"query": "суд", "\ud800": 1})["result"]
    assert bad_key["isError"] is True and bad_key["structuredContent"]["error"]["field"] == "\\ud800"
    assert call(3, "\ud800", {})["error"]["message"] == "Unknown tool: \\ud800"
    assert call(4, "search_court_cases", {"query": "\ud800"})["result"]["isError"] is True
    good = call(5, "search_court_cases", {"query": "договір поставки"})["result"]
    assert good["isError"] is False and good["structuredContent"]["results"]


# ---- the importer ---------------------------------------------------------------------------------------------------


def jsonl(tmp_path: Any, lines: list[bytes]) -> Any:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def count(url: str, table: str) -> int:
    return run_db(url, lambda db: db.fetch_value(f"SELECT count(*) FROM {table}"))


ACT = {"reg_number": "FZ-1", "title": "Закон про перевірку", "kind": "Закон", "status": "чинний"}


# A NUL or a lone surrogate (both legal as JSON escapes) in a text field got past the checks and made psycopg2
# raise a ValueError mid-import: a traceback, with the batches before it already committed.
@pytest.mark.parametrize(
    ("kind", "record", "error"),
    [
        ("legislation", {**ACT, "title": "a\x00b"}, "title: contains a NUL character"),
        ("legislation", {**ACT, "kind": "\udfff"}, "kind: contains an unpaired surrogate"),
    ],
)
def test_import_refuses_nul_and_lone_surrogates_by_line(
    cli: Any, empty_database: str, tmp_path: Any, kind: str, record: dict[str, Any], error: str
) -> None:
    good = {**ACT, "reg_number": "FZ-2"}
    path = jsonl(tmp_path, [json.dumps(record).encode(), json.dumps(good).encode()])
    result = cli("import", kind, str(path), env={"DATABASE_URL": empty_database})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}:1: {error}" in result.stderr
    assert count(empty_database, "legislative_acts") == 1
    strict = cli("import", kind, str(path), "--strict", env={"DATABASE_URL": empty_database})
    assert strict.returncode == 1 and f"{path}:1: {error}" in strict.stderr and "Traceback" not in strict.stderr


# json.loads raises RecursionError on a deeply nested line, and ValueError (not JSONDecodeError) on an integer
# literal of more than 4300 digits: either escaped the line handling and ended the import with a traceback.
@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"[" * 100000, "not valid JSON: nested too deeply"),
        (b'{"number": 1' + b"0" * 5000 + b"}", "not valid JSON: Exceeds the limit (4300 digits)"),
    ],
)
def test_import_reports_json_the_parser_cannot_take(
    cli: Any, empty_database: str, tmp_path: Any, line: bytes, error: str
) -> None:
    path = jsonl(tmp_path, [line, json.dumps(ACT).encode()])
    result = cli("import", "legislation", str(path), env={"DATABASE_URL": empty_database})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}:1: {error}" in result.stderr and count(empty_database, "legislative_acts") == 1


# A number written as a string is accepted ("12"), but str.isdigit() also passed "²" on to int(), which raised
# ValueError and ended the import with a traceback.
@pytest.mark.parametrize("doc_id", ["²", "①", " ³ "])
def test_import_refuses_non_ascii_digit_strings(cli: Any, empty_database: str, tmp_path: Any, doc_id: str) -> None:
    decision = {
        "doc_id": doc_id,
        "case_number": "1/1/23",
        "court": "Суд",
        "judgment_form": "Рішення",
        "proceeding_kind": "civil",
        "adjudication_date": "2023-01-02",
        "text": "Текст.",
    }
    path = jsonl(tmp_path, [json.dumps(decision).encode(), json.dumps({**decision, "doc_id": "12"}).encode()])
    result = cli("import", "court_decisions", str(path), env={"DATABASE_URL": empty_database})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"{path}:1: doc_id: must be an integer" in result.stderr
    assert count(empty_database, "court_decisions") == 1
