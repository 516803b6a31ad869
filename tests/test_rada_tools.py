"""The Parliament tools on the demo corpus (the real deputies file and the generated bills file): bills by words
and filters, one bill with its passage, documents and expert conclusion, deputies, and the factions and
committees with their member counts and heads."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from app.tools.errors import ToolInputError, ToolRecordNotFound
from tests.helpers_corpus import REGISTRY, call

pytestmark = pytest.mark.usefixtures("demo_corpus")

STEFANCHUK = 21211


def checked(database_url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = call(database_url, name, arguments)
    jsonschema.validate(result, REGISTRY.get(name).output_schema)
    return result


def numbers(page: dict[str, Any]) -> list[str]:
    return [r["number"] for r in page["results"]]


def test_search_bills_by_words_and_filters(database_url: str) -> None:
    page = checked(database_url, "search_bills", {"query": "аліментів"})
    assert numbers(page)[0] == "9033" and page["results"][0]["url"].startswith("https://itd.rada.gov.ua/billInfo/")
    assert numbers(checked(database_url, "search_bills", {"query": "кодексу", "status": "прийнято в першому"})) == [
        "9033"
    ]
    committee = checked(database_url, "search_bills", {"lead_committee": "цифрової трансформації"})
    assert sorted(numbers(committee)) == ["9041", "9055", "9112"]
    assert numbers(checked(database_url, "search_bills", {"initiator": "Кабінет Міністрів"})) == [
        "9119",
        "9083",
        "9048",
        "9001",
    ]
    dated = checked(database_url, "search_bills", {"rubric": "цивільне", "date_from": "2023-08-01", "convocation": 9})
    assert sorted(numbers(dated)) == ["9140-д", "9140-д-1"]
    assert checked(database_url, "search_bills", {"query": "аліментів", "convocation": 8})["results"] == []
    first = checked(database_url, "search_bills", {"convocation": 9, "limit": 5})
    second = checked(database_url, "search_bills", {"convocation": 9, "limit": 5, "cursor": first["next_cursor"]})
    assert not set(numbers(first)) & set(numbers(second))


def test_get_bill_with_initiators_passage_documents_and_related_bills(database_url: str) -> None:
    bill = checked(database_url, "get_bill", {"number": "9140-Д"})
    assert bill["number"] == "9140-д" and bill["convocation"] == 9 and bill["demo"] is True
    assert bill["lead_committee"] == "Комітет з питань правової політики"
    linked = [i for i in bill["initiators"] if i["deputy"]]
    assert len(linked) == 2 and all(i["deputy"]["url"].startswith("https://itd.rada.gov.ua/mps/") for i in linked)
    unlinked = [i for i in bill["initiators"] if not i["deputy"]]
    assert [i["name"] for i in unlinked] == ["Демченко Олег Петрович"]
    assert [p["title"] for p in bill["passage"]] == [
        "Зареєстровано",
        "Надано для ознайомлення",
        "Опрацьовується в комітеті",
    ]
    assert bill["expert_conclusion"]["kind_id"] == 100 and bill["expert_conclusion"]["url"]
    assert [a["number"] for a in bill["alternatives"]] == ["9140-д-1"]
    assert [b["number"] for b in checked(database_url, "get_bill", {"number": "9033"})["bound"]] == ["9001"]
    with pytest.raises(ToolRecordNotFound):
        call(database_url, "get_bill", {"number": "9033", "convocation": 8})


def test_search_and_get_deputies(database_url: str) -> None:
    brothers = checked(database_url, "search_deputies", {"query": "Стефанчук"})["results"]
    assert [r["name"] for r in brothers] == ["Стефанчук Микола Олексійович", "Стефанчук Руслан Олексійович"]
    page = checked(database_url, "search_deputies", {"query": "Стефанчук Руслан"})
    assert [(r["person_id"], r["name"]) for r in page["results"]] == [(STEFANCHUK, "Стефанчук Руслан Олексійович")]
    assert page["results"][0]["url"] == f"https://itd.rada.gov.ua/mps/info/page/{STEFANCHUK}"
    # A person on two records is one hit: the record that carries the posts.
    twice = checked(database_url, "search_deputies", {"query": "Скрипка"})["results"]
    assert [(r["person_id"], r["rada_id"]) for r in twice] == [(21214, 450)]
    budget = checked(
        database_url, "search_deputies", {"committee": "з питань бюджету", "include_former": False, "limit": 50}
    )
    assert len(budget["results"]) >= 28  # its members, and the members of its subcommittees
    district = checked(database_url, "search_deputies", {"district": 157})["results"]
    assert [r["name"] for r in district] == ["Скрипка Тетяна Василівна"]
    region = checked(database_url, "search_deputies", {"region": "Сумська", "faction": "слуга народу", "limit": 50})
    assert region["results"] and all(r["region_name"] == "Сумська область" for r in region["results"])

    deputy = checked(database_url, "get_deputy", {"person_id": STEFANCHUK})
    assert deputy["name"] == "Стефанчук Руслан Олексійович" and deputy["serving"] is True
    assert any(p["post"] == "Голова Верховної Ради України" for p in deputy["other_posts"])
    assert deputy["elected"].startswith("загальнодержавний") and deputy["date_oath"] == "2019-08-29"
    resigned = checked(database_url, "get_deputy", {"person_id": 21201})
    assert resigned["resignation_date"] == "2023-02-23" and resigned["serving"] is False
    author = checked(database_url, "search_bills", {"query": "аліментів"})["results"][0]["initiators"][0]
    person = checked(database_url, "search_deputies", {"query": author.split()[0]})["results"][0]["person_id"]
    initiated = checked(database_url, "get_deputy", {"person_id": person})
    assert initiated["bills_initiated"] >= 1 and "9033" in [b["number"] for b in initiated["bills"]]
    with pytest.raises(ToolRecordNotFound):
        call(database_url, "get_deputy", {"person_id": 1})


def test_factions_and_committees_with_member_counts_and_heads(database_url: str) -> None:
    listing = checked(database_url, "list_factions_and_committees", {"convocation": 9})
    factions = {f["name"]: f for f in listing["factions"]}
    servant = factions['фракції ПОЛІТИЧНОЇ ПАРТІЇ "СЛУГА НАРОДУ"']
    assert servant["members"] == 227 and [h["name"] for h in servant["heads"]] == ["Арахамія Давид Георгійович"]
    assert len(listing["factions"]) == 8 and len(listing["committees"]) == 23
    budget = next(c for c in listing["committees"] if c["name"].endswith("з питань бюджету"))
    assert budget["members"] == 28 and budget["heads"][0]["post"] == "Голова Комітету Верховної Ради України"
    assert "subcommittees" not in listing
    deeper = checked(database_url, "list_factions_and_committees", {"include_subcommittees": True})
    assert deeper["convocation"] == 9 and len(deeper["subcommittees"]) == 181
    with pytest.raises(ToolRecordNotFound):
        call(database_url, "list_factions_and_committees", {"convocation": 3})


def test_fetch_reads_a_bill_for_chatgpt(database_url: str) -> None:
    found = checked(database_url, "search", {"query": "аліментів"})["results"]
    assert "bill:9033" in [r["id"] for r in found]
    doc = checked(database_url, "fetch", {"id": "bill:9033"})
    assert doc["url"].startswith("https://itd.rada.gov.ua/billInfo/Bills/Card/")
    assert "Проходження:" in doc["text"] and "Прийнято в першому читанні" in doc["text"]
    assert doc["metadata"]["expert_conclusion_url"]


def test_search_finds_a_deputy_and_fetch_reads_them_for_chatgpt(database_url: str) -> None:
    found = checked(database_url, "search", {"query": "Стефанчук Руслан"})["results"]
    hit = next(r for r in found if r["id"] == f"deputy:{STEFANCHUK}")
    assert hit["title"] == "Стефанчук Руслан Олексійович, народний депутат України 9 скликання"
    assert hit["url"] == f"https://itd.rada.gov.ua/mps/info/page/{STEFANCHUK}"
    doc = checked(database_url, "fetch", {"id": hit["id"]})
    assert doc["title"] == hit["title"] and doc["url"] == hit["url"]
    assert "Голова Верховної Ради України" in doc["text"] and "Присяга: 2019-08-29" in doc["text"]
    assert doc["metadata"]["kind"] == "deputy" and doc["metadata"]["serving"] is True
    with pytest.raises(ToolInputError) as caught:
        call(database_url, "fetch", {"id": "deputy:Стефанчук"})
    assert caught.value.field == "id"
    with pytest.raises(ToolRecordNotFound):
        call(database_url, "fetch", {"id": "deputy:1"})


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("search_bills", {}, "query"),
        ("search_bills", {"query": "закон", "convocation": 0}, "convocation"),
        ("search_bills", {"initiator": "x" * 301}, "initiator"),
        ("search_deputies", {"district": "157"}, "district"),
        ("get_deputy", {"person_id": "21211"}, "person_id"),
        ("list_factions_and_committees", {"convocation": 99}, "convocation"),
    ],
)
def test_bad_arguments_name_the_field(database_url: str, name: str, arguments: dict[str, Any], field: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        call(database_url, name, arguments)
    assert caught.value.field == field
