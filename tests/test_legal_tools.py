"""The legal tools on the demo corpus: each through ToolRegistry.call, through REST (POST /api/tools/{name})
and through the official MCP SDK client; outputs checked against their schemas; bad inputs name the field."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import jsonschema
import pytest

from app.tools.errors import ToolInputError
from tests.helpers_corpus import REGISTRY, call
from tests.helpers_mcp import sdk_client, text_of
from tests.helpers_server import ROOT

pytestmark = pytest.mark.usefixtures("demo_corpus")

LEGAL_TOOLS = [
    "search_court_cases",
    "get_court_decision",
    "get_case_decisions",
    "court_statistics",
    "list_courts",
    "search_legislation",
    "get_legislation",
    "get_legislation_article",
    "list_legislation_editions",
    "get_article_history",
    "resolve_citations",
    "search_bills",
    "get_bill",
    "search_deputies",
    "get_deputy",
    "list_factions_and_committees",
    "search_companies",
    "get_company",
    "search",
    "fetch",
]


def checked(database_url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool and check its result against the declared output schema."""
    result = call(database_url, name, arguments)
    jsonschema.validate(result, REGISTRY.get(name).output_schema)
    return result


def first_decision(database_url: str) -> dict[str, Any]:
    return checked(database_url, "search_court_cases", {"query": "договір поставки", "limit": 1})["results"][0]


def company_code(database_url: str) -> str:
    return checked(database_url, "search_companies", {"query": "світанок енерго"})["results"][0]["edrpou"]


def test_every_tool_is_registered_read_only_with_schemas() -> None:
    names = [t.name for t in REGISTRY]
    assert set(LEGAL_TOOLS) <= set(names)
    for name in LEGAL_TOOLS:
        tool = REGISTRY.get(name)
        assert tool.annotations["readOnlyHint"] is True and tool.annotations["destructiveHint"] is False
        assert tool.input_schema["type"] == "object" and tool.input_schema["additionalProperties"] is False
        assert tool.output_schema["type"] == "object" and tool.description and tool.title


# ---- court decisions ------------------------------------------------------------------------------


def test_search_court_cases(database_url: str) -> None:
    page = checked(database_url, "search_court_cases", {"query": "договір поставки", "limit": 2})
    assert len(page["results"]) == 2 and page["next_cursor"]
    top = page["results"][0]
    # Every hit names court, instance, form, kind, category and date in words, with the register's page.
    assert top["justice_kind"] == "Господарське" and top["instance"] == "Перша" and top["judgment_form"] == "Рішення"
    assert top["category"].endswith("поставки товарів") and top["court"].startswith("Господарський суд")
    assert top["url"] == f"https://reyestr.court.gov.ua/Review/{top['doc_id']}"
    assert "**" in top["snippet"] and top["demo"] is True and top["has_text"] is True
    following = checked(
        database_url, "search_court_cases", {"query": "договір поставки", "limit": 2, "cursor": page["next_cursor"]}
    )
    assert {r["doc_id"] for r in following["results"]}.isdisjoint({r["doc_id"] for r in page["results"]})

    filtered = checked(
        database_url,
        "search_court_cases",
        {
            "query": "апеляційну скаргу",
            "court": "Київський апеляційний суд",
            "justice_kind": "civil",
            "date_from": "2023-01-01",
            "date_to": "2024-12-31",
            "limit": 50,
        },
    )
    assert filtered["results"] and all(
        r["court"] == "Київський апеляційний суд" and r["justice_kind"] == "Цивільне" for r in filtered["results"]
    )
    assert checked(database_url, "search_court_cases", {"query": "шлюб", "justice_kind": "criminal"}) == {
        "results": [],
        "next_cursor": None,
    }


def test_every_filter_of_a_lawyer(database_url: str) -> None:
    def docs(**arguments: Any) -> list[dict[str, Any]]:
        return checked(database_url, "search_court_cases", {**arguments, "limit": 50})["results"]

    assert {r["court_code"] for r in docs(court="910")} == {"910"}
    assert {r["region"] for r in docs(region="Львівська")} == {"Львівська область"}
    assert {r["instance"] for r in docs(instance="cassation")} == {"Касаційна"}
    assert {r["instance"] for r in docs(query="позов", instance="appeal")} == {"Апеляційна"}
    assert {r["judgment_form"] for r in docs(judgment_form="Вирок")} == {"Вирок"}
    assert {r["judgment_form"] for r in docs(judgment_form="1")} == {"Вирок"}
    assert all("банкрутство" in r["category"] for r in docs(category="банкрутство"))
    assert {r["judge"] for r in docs(judge="Руденко О")} == {"Руденко О.Т."}
    assert {r["case_number"] for r in docs(cause_num=" 910/4312/23 ")} == {"910/4312/23"}
    supreme = docs(supreme_court=True)
    assert supreme and all("Верховного Суду" in r["court"] for r in supreme)
    newest = docs(query="суд", sort="date")
    assert [r["adjudication_date"] for r in newest] == sorted((r["adjudication_date"] for r in newest), reverse=True)
    # Wildcards are literal; a category given by its code is the same as by its words.
    assert docs(court="%") == []
    by_words = docs(category="банкрутство")
    assert docs(category=str(by_words[0]["category_code"])) == by_words


def test_get_court_decision_reads_on_in_windows(database_url: str) -> None:
    doc_id = first_decision(database_url)["doc_id"]
    whole = checked(database_url, "get_court_decision", {"doc_id": doc_id})
    assert whole["doc_id"] == doc_id and whole["truncated"] is False and whole["next_offset"] is None
    assert whole["text"].startswith("РІШЕННЯ") and whole["text_length"] == len(whole["text"])
    assert whole["instance"] == "Перша" and whole["text_status"] == "loaded"
    others = whole["case_documents"]
    assert others and all(d["doc_id"] != doc_id and d["url"].endswith(str(d["doc_id"])) for d in others)

    pieces, offset = [], 0
    while offset is not None:
        window = checked(database_url, "get_court_decision", {"doc_id": doc_id, "offset": offset, "max_chars": 500})
        assert len(window["text"]) <= 500 and window["truncated"] is True
        pieces.append(window["text"])
        offset = window["next_offset"]
    assert "".join(pieces) == whole["text"] and len(pieces) > 2
    past_the_end = checked(database_url, "get_court_decision", {"doc_id": doc_id, "offset": 10**7})
    assert past_the_end["text"] == "" and past_the_end["next_offset"] is None


def test_get_case_decisions_is_the_chain_across_instances(database_url: str) -> None:
    result = checked(database_url, "get_case_decisions", {"case_number": " 757/31452/23-ц "})
    assert result["case_number"] == "757/31452/23-ц" and result["count"] == 3
    assert [d["judgment_form"] for d in result["decisions"]] == ["Рішення", "Постанова", "Постанова"]
    assert result["decisions"][-1]["court"] == "Касаційний цивільний суд Верховного Суду"
    assert [g["instance"] for g in result["instances"]] == ["Перша", "Апеляційна", "Касаційна"]
    assert [d["latest"] for d in result["decisions"]] == [False, False, True]
    assert result["latest_doc_id"] == result["decisions"][-1]["doc_id"]
    dates = [d["adjudication_date"] for d in result["decisions"]]
    assert dates == sorted(dates)
    assert checked(database_url, "get_case_decisions", {"case_number": "1/1/1"}) == {
        "case_number": "1/1/1",
        "count": 0,
        "latest_doc_id": None,
        "instances": [],
        "decisions": [],
    }


def test_court_statistics_counts_by_each_group(database_url: str) -> None:
    years = checked(database_url, "court_statistics", {"by": "year"})
    assert years["total"] == 39 and [g["code"] for g in years["groups"]] == ["2022", "2023", "2024"]
    assert sum(g["count"] for g in years["groups"]) == 39
    civil = checked(database_url, "court_statistics", {"by": "instance", "justice_kind": "civil"})
    assert {g["name"]: g["count"] for g in civil["groups"]} == {"Перша": 8, "Апеляційна": 3, "Касаційна": 1}
    top = checked(database_url, "court_statistics", {"by": "category", "date_from": "2023-01-01", "limit": 2})
    assert (
        len(top["groups"]) == 2 and top["truncated"] is True and top["groups"][0]["count"] >= top["groups"][1]["count"]
    )
    for by in ("court", "region", "form", "justice_kind"):
        counted = checked(database_url, "court_statistics", {"by": by, "supreme_court": True})
        assert counted["total"] == 2 and all(g["name"] for g in counted["groups"])


def test_list_courts(database_url: str) -> None:
    found = checked(database_url, "list_courts", {"query": "апеляційний", "region": "Київ"})
    assert {c["court_code"] for c in found["courts"]} == {"824", "4910"}
    assert all(c["instance"] == "Апеляційна" for c in found["courts"])
    assert checked(database_url, "list_courts", {"query": "0127"})["courts"][0]["court_code"] == "0127"
    cassation = checked(database_url, "list_courts", {"instance": "cassation"})
    assert cassation["count"] == 2 and not cassation["truncated"]


# ---- legislation, companies (bills: test_rada_tools.py) ----------------------------------------------


def test_search_and_get_companies(database_url: str) -> None:
    page = checked(database_url, "search_companies", {"query": "світанок", "status": "зареєстровано"})
    assert len(page["results"]) == 2
    company = checked(database_url, "get_company", {"edrpou": company_code(database_url)})
    assert company["short_name"] == "ТОВ «СВІТАНОК-ЕНЕРГО 0»"
    assert company["activities"][0] == {"code": "46.90", "name": "Неспеціалізована оптова торгівля", "primary": True}


# ---- ChatGPT's search and fetch ------------------------------------------------------------------------


def test_search_and_fetch_across_every_kind(database_url: str) -> None:
    results = checked(database_url, "search", {"query": "аліменти"})["results"]
    assert {r["id"].split(":")[0] for r in results} >= {"court", "article", "bill"}
    assert all(set(r) == {"id", "title", "url"} and r["url"] for r in results)
    code = company_code(database_url)
    for document_id in [results[0]["id"], "act:435-15", "article:254к/96-вр:55", "bill:9033", f"company:{code}"]:
        doc = checked(database_url, "fetch", {"id": document_id})
        assert doc["id"] == document_id and doc["title"] and doc["text"] and doc["url"].startswith("https://")
        assert doc["metadata"]["demo"] is True and doc["metadata"]["kind"] == document_id.split(":")[0]
        assert doc["text"].startswith("Демонстраційні дані")
    act = checked(database_url, "fetch", {"id": "act:ЦК", "max_chars": 500})
    assert act["id"] == "act:ЦК" and act["url"] == "https://zakon.rada.gov.ua/laws/show/435-15"
    assert act["metadata"]["truncated"] is True and act["metadata"]["next_offset"]
    rest = checked(database_url, "fetch", {"id": "act:ЦК", "offset": act["metadata"]["next_offset"]})
    assert "Стаття 625. Відповідальність за порушення грошового зобов'язання" in rest["text"]
    article = checked(database_url, "fetch", {"id": "article:435-15:16-1"})
    assert article["url"] == "https://zakon.rada.gov.ua/laws/show/435-15/ed20220315"
    assert article["title"].startswith("Цивільний кодекс України, стаття 16¹.")


# ---- bad input -----------------------------------------------------------------------------------------

BAD_INPUTS = [
    ("search_court_cases", {}, "query"),
    ("search_court_cases", {"instance": "supreme"}, "instance"),
    ("search_court_cases", {"query": "суд", "sort": "alphabet"}, "sort"),
    ("court_statistics", {}, "by"),
    ("court_statistics", {"by": "judge"}, "by"),
    ("list_courts", {"instance": "first", "limit": 0}, "limit"),
    ("search_court_cases", {"query": ""}, "query"),
    ("search_court_cases", {"query": "   "}, "query"),
    ("search_court_cases", {"query": "..."}, "query"),
    ("search_court_cases", {"query": "x" * 501}, "query"),
    ("search_court_cases", {"query": "суд", "proceeding_kind": "family"}, "proceeding_kind"),
    ("search_court_cases", {"query": "суд", "justice_kind": ""}, "justice_kind"),
    ("search_court_cases", {"query": "суд", "date_from": "2023-02-30"}, "date_from"),
    ("search_court_cases", {"query": "суд", "date_to": "вчора"}, "date_to"),
    ("search_court_cases", {"query": "суд", "date_from": "2024-01-01", "date_to": "2023-01-01"}, "date_to"),
    ("search_court_cases", {"query": "суд", "limit": 0}, "limit"),
    ("search_court_cases", {"query": "суд", "limit": 51}, "limit"),
    ("search_court_cases", {"query": "суд", "cursor": "not-a-cursor"}, "cursor"),
    ("search_court_cases", {"query": "суд", "colour": "red"}, "colour"),
    ("get_court_decision", {"doc_id": 0}, "doc_id"),
    ("get_court_decision", {"doc_id": "12"}, "doc_id"),
    ("get_court_decision", {"doc_id": 1}, "doc_id"),  # no such decision
    ("get_court_decision", {"doc_id": 95376444, "max_chars": 10}, "max_chars"),
    ("get_court_decision", {"doc_id": 95376444, "offset": -1}, "offset"),
    ("get_case_decisions", {"case_number": " "}, "case_number"),
    ("search_legislation", {"query": "закон", "limit": 100}, "limit"),
    ("search_legislation", {"query": "закон", "date_from": "2024-01-01", "date_to": "2023-01-01"}, "date_to"),
    ("get_legislation", {"act": "0000-XX"}, "act"),
    ("get_legislation", {}, "act"),
    ("get_legislation_article", {"act": "435-15", "article": "99999"}, "article"),
    ("get_legislation_article", {"act": "435-15"}, "article"),
    ("get_legislation_article", {"act": "ЦК", "article": "625", "as_of_date": "1990-01-01"}, "as_of_date"),
    ("get_legislation_article", {"act": "ЦК", "article": "625", "as_of_date": "2021-02-30"}, "as_of_date"),
    ("list_legislation_editions", {"act": "Кодекс про неіснуюче"}, "act"),
    ("get_article_history", {"act": "ЦК", "article": "9999"}, "article"),
    (
        "get_article_history",
        {"act": "ЦК", "article": "625", "from_date": "2022-01-01", "to_date": "2021-01-01"},
        "to_date",
    ),
    ("get_article_history", {"act": "ЦК", "article": "625", "from_date": "1990-01-01"}, "from_date"),
    ("resolve_citations", {"text": ""}, "text"),
    ("resolve_citations", {"text": "ст. 1 ЦК", "as_of_date": "вчора"}, "as_of_date"),
    ("search_bills", {"query": "закон", "date_from": "2023-13-01"}, "date_from"),
    ("get_bill", {"number": "0"}, "number"),
    ("search_companies", {"query": ""}, "query"),
    ("get_company", {"edrpou": "1436057"}, "edrpou"),
    ("get_company", {"edrpou": "1436057a"}, "edrpou"),
    ("get_company", {"edrpou": "14360571"}, "edrpou"),  # wrong check digit
    ("get_company", {"edrpou": "14360570"}, "edrpou"),  # valid, not in the corpus
    ("search", {"query": ""}, "query"),
    ("search", {"query": "x" * 501}, "query"),
    ("fetch", {"id": "nonsense"}, "id"),
    ("fetch", {"id": "judgment:1"}, "id"),
    ("fetch", {"id": "court:abc"}, "id"),
    ("fetch", {"id": "court:1"}, "id"),
    ("fetch", {"id": "company:12345678x"}, "id"),
    ("fetch", {"id": "article:435-15:99999"}, "id"),  # fetch names its own argument
]


@pytest.mark.parametrize(
    ("name", "arguments", "field"), BAD_INPUTS, ids=[f"{n}-{f}-{i}" for i, (n, _, f) in enumerate(BAD_INPUTS)]
)
def test_bad_input_names_the_field(database_url: str, name: str, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        call(database_url, name, arguments)
    assert caught.value.field == field, caught.value


def test_a_cursor_of_another_search_is_refused(database_url: str) -> None:
    cursor = checked(database_url, "search_court_cases", {"query": "суд", "limit": 1})["next_cursor"]
    with pytest.raises(ToolInputError, match="different search") as caught:
        call(database_url, "search_court_cases", {"query": "позов", "limit": 1, "cursor": cursor})
    assert caught.value.field == "cursor"


# ---- through REST and MCP ------------------------------------------------------------------------------


def example_calls(database_url: str) -> list[tuple[str, dict[str, Any]]]:
    doc_id = first_decision(database_url)["doc_id"]
    return [
        ("search_court_cases", {"query": "поновлення на роботі", "limit": 3}),
        ("get_court_decision", {"doc_id": doc_id, "max_chars": 600}),
        ("get_case_decisions", {"case_number": "910/4312/23"}),
        ("court_statistics", {"by": "court"}),
        ("list_courts", {"region": "Київ"}),
        ("search_legislation", {"query": "цивільний кодекс"}),
        ("get_legislation", {"act": "435-15"}),
        ("get_legislation_article", {"act": "ЦК", "article": "257", "as_of_date": "2021-03-01"}),
        ("list_legislation_editions", {"act": "ЦК"}),
        ("get_article_history", {"act": "ЦК", "article": "625"}),
        ("resolve_citations", {"text": "відповідно до ст. 625 ЦК України"}),
        ("search_bills", {"query": "оренда землі"}),
        ("get_bill", {"number": "9077"}),
        ("search_deputies", {"query": "Стефанчук"}),
        ("get_deputy", {"person_id": 21211}),
        ("list_factions_and_committees", {"convocation": 9}),
        ("search_companies", {"query": "Львів"}),
        ("get_company", {"edrpou": company_code(database_url)}),
        ("search", {"query": "договір поставки"}),
        ("fetch", {"id": f"court:{doc_id}"}),
    ]


def test_every_tool_through_rest(http: Any, key: str, database_url: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    calls = example_calls(database_url)
    assert {name for name, _ in calls} == set(LEGAL_TOOLS)
    listed = {t["name"] for t in http.get("/api/tools", headers=headers).json()["tools"]}
    assert set(LEGAL_TOOLS) <= listed
    for name, arguments in calls:
        r = http.post(f"/api/tools/{name}", json=arguments, headers=headers)
        assert r.status_code == 200, (name, r.text)
        assert r.json() == call(database_url, name, arguments)

    bad = http.post("/api/tools/get_company", json={"edrpou": "14360571"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_arguments" and bad.json()["error"]["field"] == "edrpou"
    bad = http.post("/api/tools/search_court_cases", json={"query": "суд", "limit": 500}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"
    # Well-formed, but naming nothing the corpus holds: 404, still naming the field.
    missing = http.post("/api/tools/fetch", json={"id": "court:999999999"}, headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found" and missing.json()["error"]["field"] == "id"
    assert http.post("/api/tools/search", json={"query": "суд"}).status_code == 401


def test_every_tool_through_the_mcp_sdk_client(server: Any, key: str, database_url: str) -> None:
    calls = example_calls(database_url)
    expected = [call(database_url, name, arguments) for name, arguments in calls]

    async def go() -> None:
        async with sdk_client(server.url + "/mcp", key) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert set(LEGAL_TOOLS) <= set(listed)
            assert listed["search"].output_schema is not None
            for (name, arguments), want in zip(calls, expected, strict=True):
                result = await client.call_tool(name, arguments)
                assert result.is_error is False, (name, result)
                assert result.structured_content == want
                assert len(result.content) == 1 and result.content[0].type == "text"
            failed = await client.call_tool("search_court_cases", {"query": "суд", "date_from": "2023-02-30"})
            assert failed.is_error is True and "date_from" in text_of(failed)
            # A record that does not exist: over MCP an isError result naming the field, as invalid arguments.
            missing = await client.call_tool("fetch", {"id": "court:999999999"})
            assert missing.is_error is True and missing.structured_content is not None
            assert missing.structured_content["error"] == {
                "code": "invalid_arguments",
                "field": "id",
                "message": "Invalid arguments: id: no court decision with id 999999999",
            }

    asyncio.run(go())


# ---- the README's list -----------------------------------------------------------------------------------------

NUMBERS = {
    "Twelve": 12,
    "Thirteen": 13,
    "Fourteen": 14,
    "Fifteen": 15,
    "Sixteen": 16,
    "Seventeen": 17,
    "Eighteen": 18,
    "Nineteen": 19,
    "Twenty": 20,
    "Twenty-one": 21,
    "Twenty-two": 22,
    "Twenty-three": 23,
    "Twenty-four": 24,
}


def test_the_readme_lists_every_tool_and_counts_them() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Legal tools\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, re.M)
    assert sorted(listed) == sorted(t.name for t in REGISTRY)
    count = section.split()[0]
    assert NUMBERS.get(count) == len(listed), f"the README says {count} tools and lists {len(listed)}"


def test_no_arguments_are_judged_as_the_schema_judges_them() -> None:
    """Tool.validate knows once per schema whether it takes {} (no arguments): every tool answers {} and None as
    the full check does, accepted as {} or refused with the same field and message."""
    judged = set()
    cases: tuple[dict[str, Any] | None, ...] = ({}, None, {})  # {} twice: the second from what the first learnt
    for tool in REGISTRY:
        errors = sorted(jsonschema.Draft202012Validator(tool.input_schema).iter_errors({}), key=lambda e: list(e.path))
        for arguments in cases:
            if not errors:
                assert tool.validate(arguments) == {}, tool.name
                judged.add("accepted")
                continue
            with pytest.raises(ToolInputError) as refused:
                tool.validate(arguments)
            assert refused.value.message == errors[0].message, tool.name
            judged.add("refused")
    assert judged == {"accepted", "refused"}
