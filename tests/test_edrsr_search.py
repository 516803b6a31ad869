"""The court search's words live on the decision's row (migration 0011): a stored text's words are searchable at
once and follow the text when it changes, goes, or its decision moves to another year; a query's words may be
spread over the metadata and the text; equal ranks and equal dates are ordered newest first, then by doc_id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.helpers_corpus import call
from tests.helpers_edrsr import document, write_publication
from tests.helpers_server import run_db


def sql(url: str, statement: str, params: dict[str, Any] | None = None) -> None:
    run_db(url, lambda db: db.execute(statement, params or {}))


def found(url: str, query: str, **args: Any) -> list[int]:
    return [r["doc_id"] for r in call(url, "search_court_cases", {"query": query, "limit": 50, **args})["results"]]


def load(cli: Any, url: str, directory: Path, docs: list[dict[str, Any]]) -> dict[str, Any]:
    result = cli("import", "edrsr", str(write_publication(directory, docs)), "--json", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def test_text_words_follow_the_text_and_the_decision(cli: Any, empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    load(cli, url, tmp_path / "first", [document(1), document(2), document(3)])
    insert = "INSERT INTO court_decision_texts (doc_id, text, format) VALUES (%(id)s, %(text)s, 'text')"
    sql(url, insert, {"id": 1, "text": "стягнення пені за прострочення оплати"})
    sql(url, insert, {"id": 2, "text": "про розірвання договору оренди"})
    sql(url, insert, {"id": 99, "text": "пеня без рішення"})  # no such decision: nothing to index
    assert found(url, "пеня прострочення") == [1]
    # The words may sit partly in the metadata (the judge) and partly in the text.
    assert found(url, "Довжанин пеня") == [1]
    assert found(url, "Довжанин") == [3, 2, 1]
    sql(url, "UPDATE court_decision_texts SET text = 'штраф за несвоєчасну поставку' WHERE doc_id = 1")
    assert found(url, "пеня") == [] and found(url, "несвоєчасна поставка") == [1]
    # A text's other fields changing leaves the words alone; an unreadable file (no text) has none.
    sql(url, "UPDATE court_decision_texts SET format = 'rtf' WHERE doc_id = 1")
    assert found(url, "несвоєчасна поставка") == [1]
    sql(url, "UPDATE court_decision_texts SET text = NULL, error = 'not found' WHERE doc_id = 1")
    assert found(url, "несвоєчасна поставка") == []
    sql(url, "UPDATE court_decision_texts SET text = 'штраф за несвоєчасну поставку', error = NULL WHERE doc_id = 1")
    # A later publication moves decision 2 to another year (another partition): its text's words go with it.
    summary = load(cli, url, tmp_path / "later", [document(1), document(2, adjudication_date=dt.date(2021, 3, 4))])
    assert (summary["updated"], summary["unchanged"]) == (1, 1)
    assert found(url, "розірвання оренди") == [2]
    assert found(url, "розірвання оренди", date_from="2021-01-01", date_to="2021-12-31") == [2]
    assert found(url, "розірвання оренди", date_from="2023-01-01") == []
    sql(url, "DELETE FROM court_decision_texts WHERE doc_id = 2")
    assert found(url, "розірвання оренди") == [] and found(url, "Довжанин") == [3, 1, 2]
    sql(url, "TRUNCATE court_decision_texts")
    assert found(url, "несвоєчасна поставка") == [] and found(url, "Довжанин") == [3, 1, 2]


def test_ties_are_ordered_newest_first_then_by_doc_id(cli: Any, empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    day, later = dt.date(2023, 7, 12), dt.date(2023, 9, 1)
    docs = [document(n, adjudication_date=day) for n in (5, 3, 8)] + [document(4, adjudication_date=later)]
    load(cli, url, tmp_path / "pub", docs)
    for doc_id in (5, 3, 8, 4):
        sql(
            url,
            "INSERT INTO court_decision_texts (doc_id, text, format) VALUES (%(id)s, 'стягнення пені', 'text')",
            {"id": doc_id},
        )
    # Every decision ranks the same for these words: the newest comes first, then the larger doc_id.
    assert found(url, "стягнення пені") == [4, 8, 5, 3]
    assert found(url, "стягнення пені", sort="date") == [4, 8, 5, 3]
    pages, cursor = [], None
    while True:
        args: dict[str, Any] = {"query": "стягнення пені", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = call(url, "search_court_cases", args)
        pages += [r["doc_id"] for r in page["results"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert pages == [4, 8, 5, 3]


def test_matches_are_gathered_across_the_years_newest_first(cli: Any, empty_database: str, tmp_path: Path) -> None:
    url = empty_database
    dates = {1: (2019, 3, 1), 2: (2021, 5, 2), 3: (2021, 5, 2), 4: (2023, 1, 9), 5: (2024, 12, 31), 6: (2020, 1, 1)}
    load(cli, url, tmp_path / "pub", [document(n, adjudication_date=dt.date(*d)) for n, d in dates.items()])
    newest_first = [5, 4, 3, 2, 6, 1]
    assert found(url, "Довжанин") == newest_first
    # Page by page (each page asks for one more than it shows): the later pages reach the older years.
    for args in ({"sort": "date"}, {}):
        pages, cursor = [], None
        while True:
            page = call(
                url,
                "search_court_cases",
                {"query": "Довжанин", "limit": 2, **args, **({"cursor": cursor} if cursor else {})},
            )
            pages += [r["doc_id"] for r in page["results"]]
            if not (cursor := page.get("next_cursor")):
                break
        assert pages == newest_first
    assert found(url, "Довжанин", date_from="2020-01-01", date_to="2021-12-31") == [3, 2, 6]
    assert found(url, "Довжанин", date_from="2021-05-02", date_to="2021-05-02") == [3, 2]
    assert found(url, "Довжанин", date_to="2019-12-31") == [1]
    assert found(url, "Довжанин", date_from="2025-01-01") == []
    # Filters in words become the codes they name; words naming nothing find nothing.
    assert found(url, "Довжанин", court="господарський суд міста", date_from="2023-01-01") == [5, 4]
    assert found(url, "Довжанин", court="такого суду немає") == []
    assert (
        found(url, "Довжанин", category="заборгованості", judgment_form="Рішення", justice_kind="commercial")
        == newest_first
    )


def test_a_year_dropped_and_imported_again_finds_its_stored_texts_words(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    """README: a year can be dropped on its own (DROP TABLE court_decisions_y2023) and imported again. Its texts
    stay in court_decision_texts, and their words come back with the decisions, through the loaded-apart path
    (the year's partition is new again) and through the merge in place (--strict)."""
    url = empty_database
    docs = [document(1), document(2), document(3, adjudication_date=dt.date(2021, 3, 4))]
    load(cli, url, tmp_path / "first", docs)
    insert = "INSERT INTO court_decision_texts (doc_id, text, format) VALUES (%(id)s, %(text)s, 'text')"
    sql(url, insert, {"id": 1, "text": "стягнення пені за прострочення оплати"})
    sql(url, insert, {"id": 3, "text": "про розірвання договору оренди"})
    assert found(url, "пеня прострочення") == [1] and found(url, "розірвання оренди") == [3]
    for attempt, strict in enumerate((False, True)):
        sql(url, "DROP TABLE court_decisions_y2023")
        assert found(url, "пеня прострочення") == []
        args = ["--strict"] if strict else []
        directory = write_publication(tmp_path / f"again{attempt}", docs)
        result = cli("import", "edrsr", str(directory), *args, "--json", env={"DATABASE_URL": url})
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["added"] == 2
        assert found(url, "пеня прострочення") == [1], strict
        assert found(url, "розірвання оренди") == [3]  # the year left in place keeps its words
