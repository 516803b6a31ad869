"""The register's tools over the demo dump (scripts/make_demo_edr.py, loaded through the real importer):
search_companies with its filters, get_company whole, search_persons, get_company_relations, ChatGPT's
search/fetch, and the same tools over REST."""

from __future__ import annotations

from typing import Any

import pytest

from app.corpus.edr.queries import REGISTER_URL
from app.tools.errors import ToolInputError, ToolRecordNotFound
from tests.helpers_corpus import call
from tests.helpers_http import CheckedClient

pytestmark = pytest.mark.usefixtures("demo_corpus")

ROOT = "30000005"  # СВІТАНОК-ЕНЕРГО 0: founded 30000015, 30000020, 30000036 and 30000146


def names(results: list[dict[str, Any]]) -> list[str]:
    return [r["name"] for r in results]


def test_search_companies_by_name_code_and_filters(database_url: str) -> None:
    found = call(database_url, "search_companies", {"query": "світанок енерго"})["results"]
    assert found[0]["edrpou"] == ROOT and found[0]["url"] == REGISTER_URL
    assert found[0]["kind"] == "uo" and found[0]["region"] == "Вінницька область" and found[0]["demo"] is True
    by_code = call(database_url, "search_companies", {"query": "30000015"})["results"]
    assert [r["edrpou"] for r in by_code] == ["30000015"]
    bankrupt = call(database_url, "search_companies", {"query": "тов", "status": "bankruptcy", "limit": 50})["results"]
    assert {r["edrpou"] for r in bankrupt} == {"30000125", "30000188", "30000256"}
    same = call(database_url, "search_companies", {"query": "тов", "status": "порушено справу про банкрутство"})
    assert {r["edrpou"] for r in same["results"]} == {"30000125", "30000188", "30000256"}
    kyiv_it = call(database_url, "search_companies", {"query": "тов", "region": "Київ", "kved": "62.01"})["results"]
    assert {r["edrpou"] for r in kyiv_it} == {"30000041", "30000172"}
    assert call(database_url, "search_companies", {"query": "тов", "kind": "fop"})["results"] == []


def test_search_companies_by_a_person(database_url: str) -> None:
    founded = call(database_url, "search_companies", {"person": "Гончар Андрій Петрович", "person_role": "founder"})
    assert [r["edrpou"] for r in founded["results"]] == [ROOT]
    anywhere = call(database_url, "search_companies", {"person": "кравченко", "kved": "62"})["results"]
    assert {r["edrpou"] for r in anywhere} == {"30000041", "30000172"}
    with pytest.raises(ToolInputError) as caught:
        call(database_url, "search_companies", {"status": "registered"})
    assert caught.value.field == "query"
    with pytest.raises(ToolInputError) as caught:
        call(database_url, "search_companies", {"person": "--"})
    assert caught.value.field == "person"
    with pytest.raises(ToolInputError) as caught:
        call(database_url, "search_persons", {"name": "12 34"})
    assert caught.value.field == "name"


def test_get_company_has_everything_in_one_record(database_url: str) -> None:
    company = call(database_url, "get_company", {"edrpou": "30000036"})
    assert company["name"] == "ТОВАРИСТВО З ОБМЕЖЕНОЮ ВІДПОВІДАЛЬНІСТЮ «ДНІПРО-АГРО 3»"
    assert company["url"] == REGISTER_URL and company["dataset_url"].startswith("https://data.gov.ua/")
    assert company["head"] == "ГОНЧАР ІВАН ТАРАСОВИЧ" and company["heads"][0]["details"] == "керівник"
    founders = {f["name"]: f for f in company["founders"]}
    assert founders["ТОВ «СВІТАНОК-ЕНЕРГО 0»"]["code"] == ROOT
    assert founders["ТОВ «СВІТАНОК-ЕНЕРГО 0»"]["share_percent"] == 50.0
    beneficiary = company["beneficiaries"][0]
    assert beneficiary["name"] == "ГОНЧАР ІВАН ТАРАСОВИЧ"  # the "КІНЦЕВИЙ БЕНЕФІЦІАРНИЙ ВЛАСНИК" prefix is gone
    assert beneficiary["details"].startswith("Прямий вирішальний вплив")
    assert company["activities"][0] == {"code": "46.90", "name": "Неспеціалізована оптова торгівля", "primary": True}
    assert company["tax_registrations"][0]["tax_payer_type"] == "платник податку на додану вартість"
    assert [(h["field"], h["value"]) for h in company["history"]][:2] == [
        ("status", "зареєстровано"),
        ("head", "ГОНЧАР ІВАН ТАРАСОВИЧ"),
    ]
    assert company["capital"] is not None and company["registered_on"]
    successor = call(database_url, "get_company", {"edrpou": "30000099"})
    assert successor["predecessors"][0]["code"] == "30000062" and successor["predecessors"][0]["in_register"] is True
    winding_up = call(database_url, "get_company", {"edrpou": "30000062"})
    assert winding_up["status_code"] == "terminating" and winding_up["termination"]["reason"] == "Рішення засновників"


def test_get_company_refuses_a_bad_code_and_names_a_missing_one(database_url: str) -> None:
    with pytest.raises(ToolInputError, match="check digit"):
        call(database_url, "get_company", {"edrpou": "30000006"})
    with pytest.raises(ToolRecordNotFound):
        call(database_url, "get_company", {"edrpou": "14360570"})


def test_search_persons_lists_every_role_with_shares(database_url: str) -> None:
    page = call(database_url, "search_persons", {"name": "Гончар Іван Тарасович"})
    roles = {(r["role"], r["company"]["edrpou"]) for r in page["results"]}
    assert roles == {("head", "30000036"), ("founder", "30000036"), ("beneficiary", "30000036")}
    founder = next(r for r in page["results"] if r["role"] == "founder")
    assert (founder["share"], founder["share_percent"], founder["role_label"]) is not None
    assert founder["share_percent"] == 50.0 and founder["company"]["url"] == REGISTER_URL
    prefix = call(database_url, "search_persons", {"name": "гончар", "role": "head", "limit": 50})["results"]
    assert {r["company"]["edrpou"] for r in prefix} >= {ROOT, "30000036", "30000151"}
    assert all(r["person"].startswith("ГОНЧАР") for r in prefix)


def test_relations_graph_to_depth(database_url: str) -> None:
    one = call(database_url, "get_company_relations", {"edrpou": ROOT})
    assert {n["edrpou"] for n in one["nodes"]} == {ROOT, "30000015", "30000020", "30000036", "30000146"}
    assert {(e["from"], e["to"], e["type"]) for e in one["edges"]} == {
        (ROOT, code, "founder") for code in ("30000015", "30000020", "30000036", "30000146")
    }
    two = call(database_url, "get_company_relations", {"edrpou": ROOT, "depth": 2})
    codes = {n["edrpou"] for n in two["nodes"]}
    assert codes >= {"30000193", "30000282", "30000240", "30000298", "30000167", "30000172", "30000209"}
    assert ("30000036", "30000298", "predecessor") in {(e["from"], e["to"], e["type"]) for e in two["edges"]}
    assert all(e["from"] in codes and e["to"] in codes for e in two["edges"])
    three = call(database_url, "get_company_relations", {"edrpou": "30000193", "depth": 3})
    assert ROOT in {n["edrpou"] for n in three["nodes"]} and max(n["depth"] for n in three["nodes"]) <= 3
    with pytest.raises(ToolInputError):
        call(database_url, "get_company_relations", {"edrpou": ROOT, "depth": 4})


def test_chatgpt_search_and_fetch_find_companies(database_url: str) -> None:
    results = call(database_url, "search", {"query": "світанок енерго"})["results"]
    hit = next(r for r in results if r["id"] == f"company:{ROOT}")
    assert hit["url"] == REGISTER_URL and "ЄДРПОУ 30000005" in hit["title"]
    document = call(database_url, "fetch", {"id": "company:30000036"})
    assert "Засновник: ТОВ «СВІТАНОК-ЕНЕРГО 0» (ЄДРПОУ 30000005)" in document["text"]
    assert "Кінцевий бенефіціарний власник: ГОНЧАР ІВАН ТАРАСОВИЧ" in document["text"]
    assert document["metadata"]["status_code"] == "registered" and document["url"] == REGISTER_URL


def test_the_tools_over_rest(api: CheckedClient) -> None:
    response = api.post("/api/tools/search_persons", json={"name": "Гончар Андрій Петрович"})
    assert response.status_code == 200
    assert response.json()["results"][0]["company"]["edrpou"] == ROOT
    graph = api.post("/api/tools/get_company_relations", json={"edrpou": ROOT, "depth": 3})
    assert graph.status_code == 200 and graph.json()["nodes"][0]["edrpou"] == ROOT
    bad = api.post("/api/tools/get_company", json={"edrpou": "30000006"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "edrpou"
