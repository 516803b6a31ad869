"""Regressions found by the property-based tests (tests/test_fuzz_tools.py, tests/test_fuzz_import.py): each
input once made the server answer 500, drop a session or crash the importer. Each is kept here as a plain test."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx2
import pytest

from app.corpus.edrsr.format import read_documents
from tests.helpers_edrsr import document, documents_csv
from tests.helpers_mcp import messages, open_session, request_body, session_headers

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


# ---- the importers ---------------------------------------------------------------------------------------------------


# str.isdigit() accepts "²" and other digits that int() refuses: a JSON Lines doc_id written that way was a
# traceback (that kind went with the official register, whose reader takes ASCII digits only).
# The register's numbers are ASCII digits too: "٣" (an Arabic-Indic three) is a bad row, not doc_id 3.
@pytest.mark.parametrize("doc_id", ["²", "٣", "①"])
def test_the_register_refuses_non_ascii_digits(doc_id: str) -> None:
    data = documents_csv([document(5)]).replace("\n5\t", f"\n{doc_id}\t", 1).encode()
    [(line, reason)] = list(read_documents(io.BytesIO(data), {"910"}))
    assert line == 2 and reason == f"doc_id: not a number: {doc_id!r}"
