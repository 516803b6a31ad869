"""Property-based robustness of the tools: generated arguments, on and off each tool's input schema, POSTed to
/api/tools/{name} on the real server over the demo corpus, and a sample of them through MCP tools/call.

Whatever arrives, the answer is 200, 404 or 422 (never a 500 or a dropped connection); every error has the
{"error": {"code", "message"}} shape, with a `field` naming a real argument (or the unexpected key the caller
sent); every 200 validates against the tool's output schema, and a next_cursor it returns reads on; the server
still answers /healthz afterwards. Generation is derandomized, so CI meets the same examples on every run.
"""

from __future__ import annotations

import base64
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from app.corpus.edr.demo import DEMO_DUMP
from app.corpus.edr.parse import read_elements
from app.corpus.edrpou import check_digit
from app.corpus.edrsr.format import Document, read_dictionary, read_documents
from app.corpus.search import encode_cursor
from tests.helpers_corpus import REGISTRY
from tests.helpers_mcp import messages, open_session, request_body, session_headers

pytestmark = pytest.mark.usefixtures("demo_corpus")

TOOL_NAMES = [tool.name for tool in REGISTRY]
DEMO = Path(__file__).resolve().parent.parent / "app" / "demo"
# FUZZ_EXAMPLES=500 makes a deeper local hunt; the default keeps the module well under a minute on 2 cores.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "30")),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _demo_decisions() -> list[dict[str, Any]]:
    """The demo publication of the court register (app/demo/edrsr), read as the importer reads it."""
    with zipfile.ZipFile(DEMO / "edrsr" / "edrsr_data_2024.zip") as archive:
        with archive.open("courts.csv") as stream:
            courts = read_dictionary(stream, "courts.csv").rows
        with archive.open("documents.csv") as stream:
            documents = [d for _, d in read_documents(stream, set(courts)) if isinstance(d, Document)]
    return [{"doc_id": d.doc_id, "case_number": d.cause_num, "court": courts[d.court_code]["name"]} for d in documents]


DECISIONS = _demo_decisions()
with DEMO_DUMP.open("rb") as _dump:
    COMPANIES = [{"edrpou": p.entity.edrpou} for p in read_elements(_dump, "uo") if p.entity is not None]
# The demo legislation mirror (app/demo/rada-laws): its registration numbers.
ACTS = ["435-15", "254к/96-вр", "1618-15", "2747-15", "1023-12", "1001-12"]
# The demo's bills, in the Rada's official full format.
BILLS = [
    {"number": b["registrationNumber"]}
    for b in json.loads((DEMO / "rada" / "billinfo-skl9.json").read_text(encoding="utf-8"))
]

# ---- the raw material: real keys of the demo corpus, and text that has broken parsers before ---------------------

NASTY = [
    "\x00",
    "a\x00b",
    "суд\x00",
    "\ud800",
    "x\udfff",
    "\udc00\ud800",
    "\u200f",
    "\u202eсуд",
    "\u200b",
    "\ufeff",
    "\u00a0",
    "е\u0301",
    "a\u0308\u0308\u0308\u0308",
    "\u0301",
    "'",
    "\u2019",
    "\u02bc",
    "`",
    "пʼять",
    "п'ять",
    "&|!():*<->",
    "a & b | !c",
    "(",
    ")",
    "!",
    ":*",
    "<->",
    "<2>",
    "''",
    "'''",
    "\\",
    "\\'",
    "a:b",
    "a:*",
    "' OR 1=1 --",
    "'; DROP TABLE court_decisions; --",
    "%",
    "_",
    "%_\\",
    '"',
    '"unterminated',
    '""',
    '" "',
    "-",
    "--",
    '-"x"',
    "-суд",
    "OR",
    "OR OR",
    "| |",
    "ст.",
    "і на",
    "1e309",
    "NaN",
    "null",
    "{}",
    "[]",
    "court:",
    "act:",
    "article:",
    "article::",
    "bill:",
    "company:",
    "company:abc",
    "court:²",
    "court:١٢٣",
    "court:-1",
    "court:0",
    "court:99999999999999999999999",
    "court: 1",
    "company:00000000",
    "article:435-15:",
    "2023-02-30",
    "0000-01-01",
    "9999-12-31",
    "2023-13-01",
    "２０２３-０１-０１",
    "2023-01-01\n",
    " ",
    "\t\n",
    "\U0001f642" * 5,
    "𝔘𝔨𝔯",
    "I\u0307",
    "ǅ",
    "ß",
    "ﬃ",
    "²³",
    "٣",
    "\u3000",
    "\r\n",
    "ф" * 300,
    "x" * 499,
    "aa " * 160,
    "договір" * 70,
]
WORDS = [
    "договір",
    "поставки",
    "позов",
    "аліменти",
    "суд",
    "позовна давність",
    "персональних даних",
    "оренда",
    "Львів",
    "Будкомплект",
    "ОСОБА_1",
    "стягнення",
    '"договір поставки"',
    "OR",
    "-позов",
    "ст. 625",
    "Кодекс",
]
INTERESTING: dict[str, list[Any]] = {
    "court": [*sorted({d["court"] for d in DECISIONS}), "Верховний", "суд", "910", "0127"],
    "case_number": [d["case_number"] for d in DECISIONS[:8]] + ["910/4312/23", " 757/31452/23-ц "],
    "doc_id": [d["doc_id"] for d in DECISIONS[:8]],
    "act": [*ACTS, "254К/96-ВР", "ЦК", "ЦК України", "Конституція", "Цивільний кодекс", "КУпАП"],
    "reg_number": ["435-15", "254К/96-вр"],
    "text": ["ст. 625 ЦК України", "частини другої статті 16 ЦПК", "п. 3 ч. 1 ст. 284 КАС", "ст. 99999 ЦК"],
    "as_of_date": ["2021-03-01", "1990-01-01", "2099-12-31"],
    "article": ["1", "625", "16-1", "ст. 625", "Стаття 55", "ст.", "0"],
    "number": [b["number"] for b in BILLS[:8]] + ["9140-Д"],
    "edrpou": [c["edrpou"] for c in COMPANIES[:8]] + ["14360570", "14360571", "00000000"],
    "status": ["чинний", "зареєстровано", "Прийнято", "припинено"],
    "kind": ["Кодекс", "Закон", "Конституція"],
    "person_id": [21211, 21214, 20103, 99999001, 1],
    "convocation": [9, 8, 1, 20],
    "district": [157, 1, 225],
    "initiator": ["Кабінет Міністрів", "Стефанчук", "21211"],
    "lead_committee": ["правової політики", "бюджету"],
    "committee": ["бюджету", "правової політики"],
    "faction": ["Слуга народу", "Голос"],
    "id": [f"court:{d['doc_id']}" for d in DECISIONS[:4]]
    + [f"act:{a}" for a in ACTS[:3]]
    + ["article:435-15:625", "article:254к/96-вр:55", "article:435-15:99999", "act:nope"]
    + [f"bill:{b['number']}" for b in BILLS[:3]]
    + [f"company:{c['edrpou']}" for c in COMPANIES[:3]],
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED_CURSORS = [
    encode_cursor("court", {"query": "суд"}, 10),
    encode_cursor("bills", {}, 10),
    _b64(b'{"s":"0000000000000000","o":10}'),
    _b64(b'{"o":0}'),
    _b64(b'{"s":"x","o":-1}'),
    _b64(b'{"s":"x","o":1000000000}'),
    _b64(b'{"s":"x","o":1.0}'),
    _b64(b'{"s":"x","o":true}'),
    _b64(b"[]"),
    _b64(b'"x"'),
    _b64(b"null"),
    _b64(b"[" * 140),
    _b64(b"\xff\xfe"),
    _b64(b'{"s":null,"o":5}'),
    "!!!!",
    "====",
    "é",
    "\x00",
    "a",
    "eyJzIjoi",
    encode_cursor("court", {"query": "суд"}, 10)[:-3],
]


def _strings() -> st.SearchStrategy[str]:
    """Any text at all: edge cases, corpus words, random unicode, and mixtures of them."""
    piece = st.one_of(st.sampled_from(NASTY), st.sampled_from(WORDS), st.text(max_size=30))
    return st.one_of(
        st.sampled_from(NASTY),
        st.sampled_from(WORDS),
        st.text(max_size=60),
        st.lists(piece, min_size=1, max_size=6).map(" ".join),
        st.builds(
            lambda c, n: c * n,
            st.sampled_from(["x", "ф", "\U0001f642", " ", "'", "\\", "a "]),
            st.sampled_from([100, 501, 2048, 5000]),
        ),
    )


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([-1, 0, 2**31, 2**63, 10**20, -(10**20)]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([1.0, 10.0, 1.5, 1e300, -0.0]),
        _strings(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
        max_leaves=6,
    )


def _valid_edrpou(seven: int) -> str:
    first = f"{seven:07d}"
    return first + str(check_digit(first))


def _integer(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    upper = high if high is not None else 10**12
    ints = st.integers(low, upper)
    edges = [v for v in (low, high, schema.get("default")) if v is not None]
    # JSON Schema counts 3.0 as an integer, so a client may send it: the tool must treat it as 3.
    return st.one_of(ints, st.sampled_from(edges), ints.map(float).filter(lambda f: f <= 2**53))


def _string(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Strings the schema accepts (lengths, enum, pattern, date format), with corpus keys and nasty content."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date":
        edges = st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-29", "2023-01-01", "2024-12-31"])
        return st.one_of(st.dates().map(lambda d: d.isoformat()), edges)
    if name == "edrpou":
        return st.one_of(
            st.sampled_from(INTERESTING["edrpou"]),
            st.from_regex(r"[0-9]{8}", fullmatch=True),
            st.integers(0, 9999999).map(_valid_edrpou),
        )
    low, high = schema.get("minLength", 0), schema.get("maxLength", 10**6)
    pool = [_strings()]
    if name in INTERESTING:
        known = st.sampled_from([str(v) for v in INTERESTING[name]])
        pool += [known, _mutated(known)]
    if name == "id":  # kind:key, with every kind and keys real, altered or nonsense
        kinds = st.sampled_from(["court", "act", "article", "bill", "company", "Court", "judgment", "", " court"])
        keys = st.one_of(
            st.sampled_from([str(v) for k in ("doc_id", "act", "number", "edrpou") for v in INTERESTING[k]]),
            st.sampled_from(NASTY),
            st.text(max_size=12),
        )
        pool.append(
            st.builds(
                lambda k, v, w: f"{k}:{v}" + (f":{w}" if w is not None else ""),
                kinds,
                keys,
                st.one_of(st.none(), st.sampled_from(INTERESTING["article"] + NASTY[:20])),
            )
        )
    if name == "query":
        pool += [st.sampled_from(WORDS), _mutated(st.sampled_from(WORDS))]
    if name == "cursor":
        pool.append(st.sampled_from(FORGED_CURSORS))
    return st.one_of(pool).map(lambda s: s[:high]).filter(lambda s: len(s) >= low)


def _mutated(known: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A real value, altered: letter case, padding, a nasty piece inserted, cut short."""
    return st.builds(
        lambda value, how, piece, cut: {
            "upper": value.upper(),
            "lower": value.lower(),
            "pad": f"  {value}\t",
            "append": value + piece,
            "prepend": piece + value,
            "middle": value[:cut] + piece + value[cut:],
            "cut": value[:cut],
        }[how],
        known,
        st.sampled_from(["upper", "lower", "pad", "append", "prepend", "middle", "cut"]),
        st.sampled_from(NASTY),
        st.integers(0, 12),
    )


def _value(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = schema.get("type")
    if kind == "integer":
        interesting = INTERESTING.get(name, [])
        return st.one_of(_integer(schema), st.sampled_from(interesting)) if interesting else _integer(schema)
    if kind == "string":
        return _string(name, schema)
    return _json_values()


def schema_arguments(name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Argument objects shaped by the tool's input schema: every required property, any of the optional ones."""
    schema = REGISTRY.get(name).input_schema
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    return st.fixed_dictionaries(
        {p: _value(p, properties[p]) for p in required},
        optional={p: _value(p, s) for p, s in properties.items() if p not in required},
    )


def off_schema_arguments(name: str) -> st.SearchStrategy[Any]:
    """Bodies that break the schema: wrong types, unknown keys, out-of-range numbers, non-object bodies, and
    schema-shaped objects with one argument swapped for anything at all."""
    properties = list(REGISTRY.get(name).input_schema.get("properties", {}))
    keys = st.one_of(
        st.sampled_from(properties),
        st.text(max_size=12),
        st.sampled_from(["", "\ud800", "\x00", "__proto__", "query "]),
    )
    anything = (
        st.dictionaries(keys, _json_values(), max_size=5)
        if properties
        else st.dictionaries(st.text(max_size=8), _json_values(), max_size=3)
    )
    swapped = st.tuples(schema_arguments(name), st.sampled_from(properties or ["x"]), _json_values()).map(
        lambda t: {**t[0], t[1]: t[2]}
    )
    return st.one_of(anything, swapped, _json_values().filter(lambda v: not isinstance(v, dict)))


# ---- the server, a key, and the checks made on every answer --------------------------------------------------------

_validators: dict[tuple[str, str], Draft202012Validator] = {}


def _validator(name: str, which: str) -> Draft202012Validator:
    if (name, which) not in _validators:
        tool = REGISTRY.get(name)
        schema = tool.input_schema if which == "input" else tool.output_schema
        _validators[name, which] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _validators[name, which]


def post(api: httpx2.Client, name: str, arguments: Any) -> httpx2.Response:
    # json.dumps escapes everything outside ASCII, so lone surrogates travel as \ud800 escapes, as a client sends them.
    return api.post(f"/api/tools/{name}", content=json.dumps(arguments), headers={"Content-Type": "application/json"})


def check_call(api: httpx2.Client, name: str, arguments: Any, *, follow: bool = True) -> httpx2.Response:
    """POST the arguments and assert what must hold whatever they are."""
    r = post(api, name, arguments)
    assert r.status_code in (200, 404, 422), (r.status_code, r.text[:500])
    body = r.json()
    schema_ok = isinstance(arguments, dict) and _validator(name, "input").is_valid(arguments)
    properties = REGISTRY.get(name).input_schema.get("properties", {})
    if r.status_code == 200:
        assert schema_ok, f"200 for arguments the input schema refuses: {arguments!r}"
        errors = [e.message for e in _validator(name, "output").iter_errors(body)]
        assert not errors, (errors[:3], body)
        if follow and body.get("next_cursor"):
            following = check_call(api, name, {**arguments, "cursor": body["next_cursor"]}, follow=False)
            assert following.status_code == 200, ("a next_cursor did not read on", following.text[:300])
        return r
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str) and error["message"]
    assert set(error) <= {"code", "message", "field"}, error
    if r.status_code == 404:
        assert schema_ok and error["code"] == "not_found" and error.get("field") in properties, error
    else:
        assert error["code"] == "invalid_arguments", error
        field = error.get("field")
        if field:
            sent = set(arguments) if isinstance(arguments, dict) else set()
            assert field in properties or field in sent, error
            if schema_ok:  # the tool's own checks name one of its arguments
                assert field in properties, error
        else:
            assert field is None or not schema_ok or not isinstance(arguments, dict), error
    return r


@pytest.mark.parametrize("name", TOOL_NAMES)
@FUZZ
@given(data=st.data())
def test_arguments_from_the_input_schema(api: httpx2.Client, name: str, data: st.DataObject) -> None:
    check_call(api, name, data.draw(schema_arguments(name), label="arguments"))


@pytest.mark.parametrize("name", TOOL_NAMES)
@FUZZ
@given(data=st.data())
def test_arguments_off_the_input_schema(api: httpx2.Client, name: str, data: st.DataObject) -> None:
    check_call(api, name, data.draw(off_schema_arguments(name), label="arguments"))


# ---- every edge value in every argument, exhaustively: the catalogue above, not left to chance ----------------------

BASE: dict[str, dict[str, Any]] = {
    "server_info": {},
    "sources": {},
    "search_court_cases": {"query": "договір поставки", "limit": 2},
    "get_court_decision": {"doc_id": DECISIONS[0]["doc_id"], "max_chars": 600},
    "get_case_decisions": {"case_number": DECISIONS[0]["case_number"]},
    "court_statistics": {"by": "court", "justice_kind": "civil"},
    "list_courts": {"query": "суд", "limit": 5},
    "search_legislation": {"query": "кодекс", "limit": 2},
    "get_legislation": {"act": "435-15"},
    "get_legislation_article": {"act": "ЦК", "article": "625", "as_of_date": "2021-03-01"},
    "list_legislation_editions": {"act": "ЦК"},
    "get_article_history": {"act": "ЦК", "article": "625"},
    "resolve_citations": {"text": "ст. 625 ЦК України та ч. 2 ст. 16 ЦПК"},
    "search_bills": {"query": "закон", "limit": 2},
    "get_bill": {"number": BILLS[0]["number"]},
    "search_deputies": {"query": "Стефанчук", "limit": 2},
    "get_deputy": {"person_id": 21211},
    "list_factions_and_committees": {"convocation": 9},
    "search_companies": {"query": "товариство", "limit": 2},
    "get_company": {"edrpou": COMPANIES[0]["edrpou"]},
    "search_persons": {"name": "Гончар", "limit": 2},
    "get_company_relations": {"edrpou": COMPANIES[0]["edrpou"], "depth": 2},
    "search": {"query": "аліменти"},
    "fetch": {"id": f"court:{DECISIONS[0]['doc_id']}", "max_chars": 500},
}
TYPE_EDGES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.0,
    2.5,
    10**20,
    -(10**20),
    2**63,
    "",
    "1",
    "10",
    [],
    ["суд"],
    {},
    {"query": "суд"},
    "x" * 20000,
]


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_every_edge_value_in_every_argument(api: httpx2.Client, name: str) -> None:
    base = BASE[name]
    assert post(api, name, base).status_code == 200, name
    failures = []
    for prop, schema in REGISTRY.get(name).input_schema.get("properties", {}).items():
        values = (
            TYPE_EDGES + (NASTY + FORGED_CURSORS if prop == "cursor" else NASTY)
            if schema.get("type") == "string"
            else TYPE_EDGES
        )
        for value in values:
            arguments = {**base, prop: value}
            try:
                check_call(api, name, arguments)
            except AssertionError as exc:
                failures.append(f"{arguments!r}: {str(exc)[:300]}")
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:20])


# ---- the same inputs through MCP tools/call --------------------------------------------------------------------------

MCP_SAMPLE: list[tuple[str, Any]] = [
    ("search_court_cases", {"query": "суд\x00"}),
    ("search_court_cases", {"query": "\ud800"}),
    ("search_court_cases", {"query": "&|!():*<->", "limit": 10**20}),
    ("search_court_cases", {"query": "суд", "cursor": FORGED_CURSORS[3]}),
    ("search_court_cases", {"query": "суд", "date_from": "2023-02-30"}),
    ("get_court_decision", {"doc_id": 10**20}),
    ("get_court_decision", {"doc_id": DECISIONS[0]["doc_id"], "offset": 3.0}),
    ("get_case_decisions", {"case_number": "\x00"}),
    ("get_legislation", {"act": "\ud800"}),
    ("get_legislation_article", {"act": "435-15", "article": "' OR 1=1 --"}),
    ("resolve_citations", {"text": "ст. 625 ЦК\x00"}),
    ("get_company", {"edrpou": "1436057\n"}),
    ("search", {"query": "'; DROP TABLE court_decisions; --"}),
    ("fetch", {"id": "court:²"}),
    ("fetch", {"id": "article:435-15:"}),
    ("fetch", {"id": "company:abc"}),
    ("search_court_cases", {"query": "суд", "\ud800": 1}),
    ("search_bills", ["not", "an", "object"]),
    ("no_such_tool", {}),
    ("\ud800", {}),
]


def test_the_same_inputs_through_mcp_tools_call(api: httpx2.Client) -> None:
    session = open_session(api, {})
    headers = {**session_headers({}, session), "Content-Type": "application/json"}
    for index, (name, arguments) in enumerate(MCP_SAMPLE, start=10):
        body = request_body("tools/call", {"name": name, "arguments": arguments}, request_id=index)
        r = api.post("/mcp", content=json.dumps(body), headers=headers)
        assert r.status_code in (200, 400), (name, arguments, r.status_code, r.text[:300])
        if r.status_code == 400:  # refused by the transport as a malformed message: a JSON-RPC error
            assert "error" in r.json(), r.text
            continue
        (reply,) = [m for m in messages(r.text) if m.get("id") == index]
        if "error" in reply:  # a protocol error: an unknown tool, or arguments that are not an object
            assert name in ("no_such_tool", "\ud800") or not isinstance(arguments, dict), reply
            continue
        result = reply["result"]
        if result.get("isError"):
            assert result["structuredContent"]["error"]["code"] in ("invalid_arguments", "not_found"), result
            assert "failed; quote request id" not in result["content"][0]["text"], result
        else:
            assert _validator(name, "output").is_valid(result["structuredContent"]), result
    # The session survived all of it.
    body = request_body(
        "tools/call", {"name": "search_court_cases", "arguments": {"query": "договір поставки"}}, request_id=99
    )
    r = api.post("/mcp", content=json.dumps(body), headers=headers)
    (reply,) = [m for m in messages(r.text) if m.get("id") == 99]
    assert reply["result"]["isError"] is False and reply["result"]["structuredContent"]["results"]
