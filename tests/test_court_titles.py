"""Titles of court decisions as a Ukrainian lawyer cites them: the court's name in the genitive
("Рішення Господарського суду міста Києва від 12.03.2023 у справі № 910/4312/23"), checked on every court of
the demo corpus and on the other shapes court names take."""

from __future__ import annotations

import datetime as dt
import zipfile

import pytest

from app.corpus.edrsr.format import read_dictionary
from app.corpus.records import court_genitive, court_title
from tests.helpers_corpus import call
from tests.helpers_server import ROOT

# Every court of the demo corpus, declined by hand. A court added to the demo data must be added here.
DEMO_COURTS = {
    "Вінницький міський суд Вінницької області": "Вінницького міського суду Вінницької області",
    "Касаційний господарський суд Верховного Суду": "Касаційного господарського суду Верховного Суду",
    "Касаційний цивільний суд Верховного Суду": "Касаційного цивільного суду Верховного Суду",
    "Восьмий апеляційний адміністративний суд": "Восьмого апеляційного адміністративного суду",
    "Галицький районний суд міста Львова": "Галицького районного суду міста Львова",
    "Господарський суд Дніпропетровської області": "Господарського суду Дніпропетровської області",
    "Господарський суд Львівської області": "Господарського суду Львівської області",
    "Господарський суд Харківської області": "Господарського суду Харківської області",
    "Господарський суд міста Києва": "Господарського суду міста Києва",
    "Дарницький районний суд міста Києва": "Дарницького районного суду міста Києва",
    "Дніпровський районний суд міста Києва": "Дніпровського районного суду міста Києва",
    "Другий апеляційний адміністративний суд": "Другого апеляційного адміністративного суду",
    "Західний апеляційний господарський суд": "Західного апеляційного господарського суду",
    "Києво-Святошинський районний суд Київської області": "Києво-Святошинського районного суду Київської області",
    "Київський апеляційний суд": "Київського апеляційного суду",
    "Львівський окружний адміністративний суд": "Львівського окружного адміністративного суду",
    "Оболонський районний суд міста Києва": "Оболонського районного суду міста Києва",
    "Одеський апеляційний суд": "Одеського апеляційного суду",
    "Одеський окружний адміністративний суд": "Одеського окружного адміністративного суду",
    "Печерський районний суд міста Києва": "Печерського районного суду міста Києва",
    "Приморський районний суд міста Одеси": "Приморського районного суду міста Одеси",
    "Північний апеляційний господарський суд": "Північного апеляційного господарського суду",
    "Солом'янський районний суд міста Києва": "Солом'янського районного суду міста Києва",
    "Східний апеляційний господарський суд": "Східного апеляційного господарського суду",
    "Харківський окружний адміністративний суд": "Харківського окружного адміністративного суду",
    "Шевченківський районний суд міста Києва": "Шевченківського районного суду міста Києва",
    "Шевченківський районний суд міста Львова": "Шевченківського районного суду міста Львова",
}

# Shapes the official register has beyond the demo data: a feminine noun, a soft-stem ordinal, a capital "Суд".
OTHER_COURTS = {
    "Верховний Суд": "Верховного Суду",
    "Велика Палата Верховного Суду": "Великої Палати Верховного Суду",
    "Апеляційна палата Вищого антикорупційного суду": "Апеляційної палати Вищого антикорупційного суду",
    "Конституційний Суд України": "Конституційного Суду України",
    "Третій апеляційний адміністративний суд": "Третього апеляційного адміністративного суду",
    "Касаційний цивільний суд у складі Верховного Суду": "Касаційного цивільного суду у складі Верховного Суду",
    "Вищий антикорупційний суд": "Вищого антикорупційного суду",
    "Мукачівський міськрайонний суд Закарпатської області": "Мукачівського міськрайонного суду Закарпатської області",
}


def demo_courts() -> set[str]:
    """The courts dictionary of the demo publication (app/demo/edrsr), read as the importer reads it."""
    with zipfile.ZipFile(ROOT / "app" / "demo" / "edrsr" / "edrsr_data_2024.zip") as archive:
        with archive.open("courts.csv") as stream:
            return {row["name"] for row in read_dictionary(stream, "courts.csv").rows.values() if row["name"]}


def test_every_demo_court_is_in_the_table() -> None:
    assert demo_courts() == set(DEMO_COURTS)


@pytest.mark.parametrize("name, genitive", [*DEMO_COURTS.items(), *OTHER_COURTS.items()])
def test_court_names_in_the_genitive(name: str, genitive: str) -> None:
    assert court_genitive(name) == genitive


@pytest.mark.parametrize("name", ["Районний у місті Києві суд", "Третейське правосуддя", ""])
def test_an_unknown_shape_is_not_declined(name: str) -> None:
    assert court_genitive(name) is None


def test_titles_cite_the_court_in_the_genitive_or_name_it_in_brackets() -> None:
    row = {
        "judgment_form": "Рішення",
        "court": "Господарський суд міста Києва",
        "case_number": "910/4312/23",
        "adjudication_date": dt.date(2023, 3, 12),
    }
    assert court_title(row) == "Рішення Господарського суду міста Києва від 12.03.2023 у справі № 910/4312/23"
    assert court_title({**row, "adjudication_date": "2023-03-12"}) == court_title(row)  # as search rows carry it
    assert court_title({**row, "court": "Районний у місті Києві суд"}) == (
        "Рішення від 12.03.2023 у справі № 910/4312/23 (Районний у місті Києві суд)"
    )


@pytest.mark.usefixtures("demo_corpus")
def test_search_and_fetch_titles(database_url: str) -> None:
    """Through the `search` and `fetch` tools: every court title on a demo query reads as a citation."""
    results = call(database_url, "search", {"query": "договір поставки"})["results"]
    courts = [r for r in results if r["id"].startswith("court:")]
    assert courts
    for result in courts:
        document = call(database_url, "fetch", {"id": result["id"]})
        court = document["metadata"]["court"]
        assert result["title"] == document["title"]
        assert f" {DEMO_COURTS[court]} від " in document["title"], document["title"]
        assert court not in document["title"]  # never "Рішення Господарський суд ..."
