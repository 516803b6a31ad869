"""Legislation from the Rada's open data: the formats as published, `secondlayer import rada-laws` over a mirror
directory and over HTTP (a loopback server serving the demo mirror), bad input reported with the rest imported,
idempotence, and the legislation tools on the imported demo: articles as in force on a date, editions, history
with a word diff, citations."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.corpus.laws import citations, formats
from app.corpus.laws.formats import BadInput
from app.db.schema import upgrade
from app.tools.errors import ToolInputError, ToolRecordNotFound
from tests.helpers_corpus import REGISTRY, PublisherSite, call, load_demo
from tests.helpers_server import ROOT, run_db

DEMO = ROOT / "app" / "demo" / "rada-laws"
DEMO_ACTS = "254к/96-вр,435-15,1618-15,2747-15,2947-14,1023-12"


def checked(database_url: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = call(database_url, name, arguments)
    jsonschema.validate(result, REGISTRY.get(name).output_schema)
    return result


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def import_laws(cli: Any, url: str, *args: str) -> Any:
    return cli("import", "rada-laws", *args, env={"DATABASE_URL": url}, timeout=120)


# ---- the formats ------------------------------------------------------------------------------------------------


def test_doc_txt_columns_come_from_the_structure_file() -> None:
    columns = formats.read_structure("nreg,C,номер\r\nnazva,C,назва\r\nstatus,N\r\norgans,C\r\n".encode("cp1251"))
    assert columns == ["nreg", "nazva", "status", "organs"]
    card = formats.parse_doc_line("2755-17\tПодатковий кодекс України\t5\t1:20101202:2755-VI", columns)
    assert (card.nreg, card.title, card.status, card.issuers) == ("2755-17", "Податковий кодекс України", 5, [1])
    assert (card.adopted_on, card.official_number) == (dt.date(2010, 12, 2), "2755-VI")
    with pytest.raises(BadInput, match="3 columns where the structure file has 4"):
        formats.parse_doc_line("1-1\tНазва\t5", columns)
    with pytest.raises(BadInput, match="status is not a number"):
        formats.parse_doc_line("1-1\tНазва\tчинний\t", columns)
    with pytest.raises(BadInput, match="names no nreg"):
        formats.read_structure(b"a,b\nc,d\n")


def test_dates_as_published_and_impossible_ones_are_unknown() -> None:
    assert formats.parse_date("20210301") == dt.date(2021, 3, 1)
    assert formats.parse_date("2021-03-01") == formats.parse_date("01.03.2021") == dt.date(2021, 3, 1)
    assert formats.parse_date("00000000") is None and formats.parse_date("30130101") is None
    assert formats.parse_date("20210230") is None and formats.parse_date("") is None


def test_a_card_json_lists_future_editions_too() -> None:
    card, editions = formats.parse_card_json((DEMO / "laws/card/435-15.json").read_bytes())
    assert card.nreg == "435-15" and card.edition_count == 4 and card.types == [21, 1]
    assert [(e.date.isoformat(), e.cause) for e in editions][-2:] == [
        ("2022-03-15", "2120-20"),
        ("2099-01-01", "9999-20"),
    ]
    with pytest.raises(BadInput, match="not JSON"):
        formats.parse_card_json(b"{")


def test_an_edition_splits_into_books_sections_chapters_and_articles() -> None:
    page = (
        "<html><head><title>Кодекс</title><style>p{}</style></head><body>"
        "<p>КНИГА ПЕРША</p><p>ЗАГАЛЬНІ ПОЛОЖЕННЯ</p><p>Розділ I</p><p>ОСНОВНІ</p><p>Глава 1. Засади</p>"
        "<p>Стаття 1. Предмет</p><p>1. Текст&nbsp;першої.</p><p>Розділ II цього Кодексу застосовується.</p>"
        "<p>Стаття 1<sup>2</sup>. Вставлена</p><p>Текст.</p>"
        "<p>Стаття 16-1. Через дефіс</p><p>Текст.</p>"
        "<p>Стаття 1. Повторена в перехідних положеннях</p></body></html>"
    ).encode("cp1251", errors="xmlcharrefreplace")
    elements = formats.split_structure(formats.text_lines(page))
    assert [(e.kind, e.number, e.title) for e in elements] == [
        ("book", "ПЕРША", "ЗАГАЛЬНІ ПОЛОЖЕННЯ"),
        ("section", "I", "ОСНОВНІ"),
        ("chapter", "1", "Засади"),
        ("article", "1", "Предмет"),
        ("article", "1²", "Вставлена"),
        ("article", "16-1", "Через дефіс"),
    ]
    assert elements[3].text == "1. Текст першої.\nРозділ II цього Кодексу застосовується."
    assert elements[5].text == "Текст.\nСтаття 1. Повторена в перехідних положеннях"
    assert [formats.number_key(n) for n in ("1²", "16¹", "16-1", "ст. 625", "Стаття 16‑1")] == [
        "1-2",
        "16-1",
        "16-1",
        "625",
        "16-1",
    ]
    with pytest.raises(BadInput, match="no article headings"):
        formats.split_structure(formats.text_lines("<p>Постанова без статей.</p>".encode("cp1251")))


def test_dictionaries_as_published_and_as_resaved() -> None:
    # As published: windows-1251, `code<TAB>name`, no header; vidnosh.txt has both readings of a relation.
    assert formats.parse_dictionary("5\tЧинний\r\n1\tВтратив чинність\r\n".encode("cp1251")) == {
        5: "Чинний",
        1: "Втратив чинність",
    }
    kinds = formats.parse_dictionary_columns("1\tЗмінює документ\tЗмінюється документом\r\n".encode("cp1251"))
    assert kinds == {1: ["Змінює документ", "Змінюється документом"]}
    # A re-saved copy: a header line, `;`, quotes, UTF-8; a name may hold commas.
    resaved = 'id;name\r\n"9";"Втратив чинність, крім окремих положень"\r\n'.encode()
    assert formats.parse_dictionary(resaved) == {9: "Втратив чинність, крім окремих положень"}
    assert formats.parse_dictionary(b"no codes here\n") == {}


def test_events_with_and_without_a_header_tab_or_semicolon() -> None:
    event = formats.Event(dt.date(2021, 3, 2), "435-15", 0, "1293-20")
    assert formats.parse_event_line("poddat\tnreg\tpodid\tpidstava") is None
    assert formats.parse_event_line("20210302\t435-15\t0\t1293-20") == event
    assert formats.parse_event_line('20210302;"435-15";0;1293-20') == event
    assert formats.parse_event_line("20040101\t435-15\t1\t") == formats.Event(dt.date(2004, 1, 1), "435-15", 1, None)
    with pytest.raises(BadInput, match="podid is not a number"):
        formats.parse_event_line("20040101\t435-15\tx")
    with pytest.raises(BadInput, match="no usable event date"):
        formats.parse_event_line("00000000\t435-15\t1")
    with pytest.raises(BadInput, match="status is out of range"):
        formats.parse_doc_line("1-1\tНазва\t99999999999\t", ["nreg", "nazva", "status", "organs"])
    assert formats.causes("4536-20,4698-20") == ["4536-20", "4698-20"] and formats.causes(None) == []


def test_relations_read_by_their_columns() -> None:
    columns = formats.relation_columns(formats.structure_columns(b"dokid1,N\nvidnosh,N\ndokid2,N\ndatvid,D\n"))
    relation = formats.parse_relation_line("1006\t1\t1002\t20210302", columns)
    assert relation == formats.Relation("1006", True, 1, "1002", True, dt.date(2021, 3, 2))
    assert formats.is_relation_header("nreg1;vidnosh;nreg2") and not formats.is_relation_header("1006\t1\t1002")
    by_number = formats.parse_relation_line("1293-20;1;435-15", ["nreg1", "vidnosh", "nreg2"])
    assert (by_number.source, by_number.source_dokid, by_number.target) == ("1293-20", False, "435-15")
    with pytest.raises(BadInput, match="lack vidnosh or idvid or vid"):
        formats.relation_columns(["nreg1", "nreg2"])
    with pytest.raises(BadInput, match="2 columns where the relations file has 3"):
        formats.parse_relation_line("1\t2", ["nreg1", "vidnosh", "nreg2"])


def test_citations_as_lawyers_write_them() -> None:
    text = (
        "Відповідно до ст. 625 ЦК України, частини другої статті 16 ЦПК, п. 3 ч. 1 ст. 284 КАС, "
        "статтею 1 Закону України «Про захист прав споживачів», статей 256, 257 Цивільного кодексу України, "
        "пункту першого частини третьої статті 183 Сімейного кодексу та статті 55 Конституції України; "
        "ст. 5 без акта не є посиланням."
    )
    found = [(c.act, c.article, c.part, c.point) for c in citations.find_citations(text)]
    assert found == [
        ("ЦК", "625", None, None),
        ("ЦПК", "16", 2, None),
        ("КАС", "284", 1, 3),
        ("Про захист прав споживачів", "1", None, None),
        ("ЦК", "256", None, None),
        ("ЦК", "257", None, None),
        ("СК", "183", 3, 1),
        ("Конституція", "55", None, None),
    ]
    assert citations.find_citations(text)[0].quote == "ст. 625 ЦК України"


# ---- the import ---------------------------------------------------------------------------------------------------


def test_import_from_a_directory_reports_bad_input_and_imports_the_rest(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    source = tmp_path / "mirror"
    shutil.copytree(DEMO, source)
    doc = source / formats.DOC_PATH
    doc.write_bytes(doc.read_bytes() + "9-9\tлише три\tколонки\r\n".encode("cp1251"))
    (source / "laws/show/1618-15/ed20050901").write_bytes("<p>Текст без статей.</p>".encode("cp1251"))
    (source / "laws/show/435-15/ed20210302").unlink()

    result = import_laws(cli, empty_database, str(source), "--acts", DEMO_ACTS, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    problems = {p["where"]: p["reason"] for p in summary["problems"]}
    assert problems == {
        f"{formats.DOC_PATH}:12": "3 columns where the structure file has 7",
        "laws/show/1618-15/ed20050901": "1618-15, edition of 01.09.2005: no article headings (`Стаття N.`) in the text",
        "laws/show/435-15/ed20210302": "435-15: edition of 02.03.2021 is listed but its text is missing",
    }
    assert rows(empty_database, "SELECT count(*) AS n FROM legislative_acts") == [{"n": 11}]
    editions = rows(
        empty_database,
        "SELECT edition_date::text AS day, articles FROM legislation_editions WHERE nreg = '435-15' ORDER BY 1",
    )
    assert editions == [
        {"day": "2004-01-01", "articles": 7},
        {"day": "2021-03-02", "articles": None},
        {"day": "2022-03-15", "articles": 8},
        {"day": "2099-01-01", "articles": 7},
    ]
    # Unchanged articles are stored once, however many editions carry them.
    shared = rows(
        empty_database,
        "SELECT count(DISTINCT text_hash) AS texts, count(*) AS uses FROM legislation_structure "
        "WHERE nreg = '435-15' AND kind = 'article'",
    )
    assert shared == [{"texts": 10, "uses": 22}]

    # The missing edition appears: only it is read, and nothing else changes.
    shutil.copy(DEMO / "laws/show/435-15/ed20210302", source / "laws/show/435-15/ed20210302")
    again = json.loads(import_laws(cli, empty_database, str(source), "--acts", "ЦК", "--json").stdout)
    assert again["added"] == 1 and again["updated"] == 0


def test_import_over_http_is_idempotent_and_sends_the_publishers_user_agent(
    cli: Any, empty_database: str, publisher: PublisherSite
) -> None:
    shutil.copytree(DEMO, publisher.root, dirs_exist_ok=True)
    first = import_laws(cli, empty_database, publisher.url(), "--acts", DEMO_ACTS, "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["problems"] == [] and (summary["added"], summary["updated"]) == (11 + 9, 0)
    paths = {path for path, _ in publisher.requests}
    assert "/laws/show/254%D0%BA/96-%D0%B2%D1%80/ed19960628" in paths and "/ogd/zak/laws/data/csv/doc.txt" in paths
    assert {headers.get("User-Agent") for _, headers in publisher.requests} == {"OpenData"}
    snapshot = "SELECT nreg, title, status, types, updated_at FROM legislative_acts ORDER BY nreg"
    before = rows(empty_database, snapshot)
    second = json.loads(import_laws(cli, empty_database, publisher.url(), "--acts", DEMO_ACTS, "--json").stdout)
    assert (second["added"], second["updated"], second["bad"]) == (0, 0, 0)
    assert second["details"]["cards"] == "unchanged since the last import (the publisher answered 304)"
    assert any(h.get("If-None-Match") for path, h in publisher.requests if path.endswith("/doc.txt"))
    assert rows(empty_database, snapshot) == before
    assert rows(empty_database, "SELECT count(*) AS n FROM legislation_events") == [{"n": 18}]
    recorded = rows(empty_database, "SELECT dataset, status, added FROM data_imports ORDER BY id")
    assert recorded == [
        {"dataset": "rada-laws", "status": "succeeded", "added": 20},
        {"dataset": "rada-laws", "status": "succeeded", "added": 0},
    ]


def test_a_strict_import_stops_at_the_first_bad_card_and_keeps_the_previous_data(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    assert import_laws(cli, empty_database, str(DEMO), "--acts", "ЦК").returncode == 0
    snapshot = "SELECT nreg, title, updated_at FROM legislative_acts ORDER BY nreg"
    before = rows(empty_database, snapshot)
    source = tmp_path / "mirror"
    shutil.copytree(DEMO, source)
    doc = source / formats.DOC_PATH
    text = doc.read_bytes().decode("cp1251").replace("Про власність", "Про власність (нова назва)")
    doc.write_bytes((text + "9-9\tлише три\tколонки\r\n").encode("cp1251"))
    result = import_laws(cli, empty_database, str(source), "--acts", "ЦК", "--strict")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{formats.DOC_PATH}:12: 3 columns where the structure file has 7; stopped (--strict)" in result.stderr
    assert rows(empty_database, snapshot) == before
    last = rows(empty_database, "SELECT status, bad FROM data_imports ORDER BY id DESC LIMIT 1")
    assert last == [{"status": "rolled_back", "bad": 1}]
    # A missing edition text stops a strict run too, after the cards: they are rolled back with it.
    doc.write_bytes(text.encode("cp1251"))
    (source / "laws/show/1618-15/ed20050901").unlink()
    stopped = import_laws(cli, empty_database, str(source), "--acts", "ЦК,ЦПК", "--strict")
    assert stopped.returncode == 1 and "is listed but its text is missing; stopped (--strict)" in stopped.stderr
    assert rows(empty_database, snapshot) == before


def test_a_failed_import_resumes_after_the_last_merged_batch(cli: Any, empty_database: str) -> None:
    # The database refuses one card (a constraint standing for any failure between two batches).
    run_db(
        empty_database,
        lambda db: db.execute("ALTER TABLE legislative_acts ADD CONSTRAINT test_refused CHECK (nreg <> '1099-2020-п')"),
    )
    failed = import_laws(cli, empty_database, str(DEMO), "--acts", "ЦК", "--batch-size", "3")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "the database refused a batch" in failed.stderr and "test_refused" in failed.stderr
    recorded = rows(empty_database, "SELECT status, added, details FROM data_imports ORDER BY id")
    assert recorded[-1]["status"] == "failed" and recorded[-1]["added"] == 9
    assert recorded[-1]["details"]["checkpoint"]["doc.txt"]["line"] == 9
    assert rows(empty_database, "SELECT count(*) AS n FROM legislative_acts") == [{"n": 9}]
    run_db(empty_database, lambda db: db.execute("ALTER TABLE legislative_acts DROP CONSTRAINT test_refused"))
    again = import_laws(cli, empty_database, str(DEMO), "--acts", "ЦК", "--batch-size", "3", "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["details"]["resumed_doc.txt"] == "after line 9 (the previous run merged up to there)"
    # Only the lines after the checkpoint went to the merge: the two cards left, then the Civil Code's 4 editions.
    assert (summary["added"], summary["updated"], summary["unchanged"], summary["bad"]) == (2 + 4, 0, 0, 0)
    assert rows(empty_database, "SELECT count(*) AS n FROM legislative_acts") == [{"n": 11}]


def test_relations_events_in_a_zip_and_a_relations_file_with_a_header(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    source = tmp_path / "mirror"
    shutil.copytree(DEMO, source)
    dates = source / formats.DATES_PATH
    with zipfile.ZipFile(source / formats.CSV_DIR / "doc-dates.zip", "w") as archive:
        archive.writestr("doc-dates.txt", b"poddat\tnreg\tpodid\tpidstava\r\n" + dates.read_bytes())
    dates.unlink()
    (source / "ogd/zak/stru/links-stru.csv").unlink()
    (source / formats.RELATIONS_PATH).write_bytes(
        "nreg1;vidnosh;nreg2\r\n1293-20;1;435-15\r\n1099-2020-п;5;435-15\r\nне;відношення\r\n".encode("cp1251")
    )
    result = import_laws(cli, empty_database, str(source), "--acts", "ЦК", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["problems"] == [
        {"where": f"{formats.RELATIONS_PATH}:4", "reason": "2 columns where the relations file has 3"}
    ]
    assert summary["details"]["events"] == {"lines": 21, "added": 18, "unchanged": 2}
    assert summary["details"]["relations"] == {"file": formats.RELATIONS_PATH, "lines": 4, "merged": 2, "unresolved": 0}
    relations = rows(
        empty_database, "SELECT nreg, relation, related, origin FROM legislation_relations ORDER BY relation, nreg"
    )
    assert relations == [
        {"nreg": "1293-20", "relation": 1, "related": "435-15", "origin": "relations"},
        {"nreg": "2120-20", "relation": 1, "related": "435-15", "origin": "editions"},
        {"nreg": "9999-20", "relation": 1, "related": "435-15", "origin": "editions"},
        {"nreg": "1099-2020-п", "relation": 5, "related": "435-15", "origin": "relations"},
    ]
    # Without a relations file the rest imports, and the absence is noted, not counted as a problem.
    (source / formats.RELATIONS_PATH).unlink()
    (source / formats.CSV_DIR / "vidnosh.txt").unlink()
    quiet = json.loads(import_laws(cli, empty_database, str(source), "--acts", "ЦК", "--json").stdout)
    assert quiet["bad"] == 0 and quiet["details"]["relations"] == {
        "file": f"{formats.RELATIONS_PATH} not published by this source"
    }


def test_a_source_without_the_card_list_fails_with_a_clear_message(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    result = import_laws(cli, empty_database, str(tmp_path))
    assert result.returncode == 1
    assert "doc-stru.csv" in result.stderr and "Traceback" not in result.stderr


# ---- the tools on the demo -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def laws(make_database: Any) -> str:
    """A database of this module's own with the demo corpus loaded as `bootstrap` loads it (the legislation
    mirror through the importer)."""
    url = make_database("sl_laws")
    upgrade(url)
    load_demo(url)
    return url


def test_an_article_as_in_force_on_a_date_names_its_edition(laws: str) -> None:
    before = checked(laws, "get_legislation_article", {"act": "ЦК", "article": "625", "as_of_date": "2021-03-01"})
    assert before["edition"]["date"] == "2004-01-01"
    assert before["url"] == "https://zakon.rada.gov.ua/laws/show/435-15/ed20040101"
    assert "три проценти річних" in before["text"] and "карантину" not in before["text"]
    after = checked(laws, "get_legislation_article", {"act": "435-15", "article": "625", "as_of_date": "2021-03-02"})
    assert after["edition"] == {
        "date": "2021-03-02",
        "event": "Редакція",
        "cause": "1293-20",
        "cause_url": "https://zakon.rada.gov.ua/laws/show/1293-20",
        "url": "https://zakon.rada.gov.ua/laws/show/435-15/ed20210302",
        "text_loaded": True,
    }
    assert "карантину" in after["text"]
    # Today: the latest edition not after today, not the future one the card lists.
    today = checked(laws, "get_legislation_article", {"act": "Цивільний кодекс України", "article": "16-1"})
    # Clients written for the former argument name keep working.
    assert checked(laws, "get_legislation_article", {"reg_number": "435-15", "article": "16-1"}) == today
    assert today["edition"]["date"] == "2022-03-15" and today["article"] == "16¹"
    with pytest.raises(ToolRecordNotFound, match=r"has no article 16-1 in its edition of 02\.03\.2021") as caught:
        call(laws, "get_legislation_article", {"act": "ЦК", "article": "16-1", "as_of_date": "2021-06-01"})
    assert caught.value.field == "article"


def test_the_card_editions_and_contents(laws: str) -> None:
    card = checked(laws, "get_legislation", {"act": "цк україни"})
    assert (card["nreg"], card["status"], card["types"], card["issuers"]) == (
        "435-15",
        "Чинний",
        ["Кодекс", "Закон"],
        ["Верховна Рада України"],
    )
    assert (card["editions_count"], card["future_editions"]) == (4, 1)
    assert card["current_edition"]["date"] == "2022-03-15"
    assert card["contents"][:3] == [
        {"kind": "book", "number": "ПЕРША", "title": "ЗАГАЛЬНІ ПОЛОЖЕННЯ"},
        {"kind": "section", "number": "I", "title": "ОСНОВНІ ПОЛОЖЕННЯ"},
        {"kind": "chapter", "number": "1", "title": "Цивільне законодавство України"},
    ]
    editions = checked(laws, "list_legislation_editions", {"act": "435-15"})
    assert [(e["date"], e["cause"], e["current"], e["future"]) for e in editions["editions"]] == [
        ("2004-01-01", None, False, False),
        ("2021-03-02", "1293-20", False, False),
        ("2022-03-15", "2120-20", True, False),
        ("2099-01-01", "9999-20", False, True),
    ]
    assert editions["editions"][1]["cause_title"] == "Про внесення змін до Цивільного кодексу України"


def test_an_articles_history_and_word_diff(laws: str) -> None:
    history = checked(
        laws, "get_article_history", {"act": "ЦК", "article": "625", "from_date": "2020-01-01", "to_date": "2021-12-31"}
    )
    assert [(c["date"], c["change"], c["cause"]) for c in history["changes"]] == [
        ("2004-01-01", "added", None),
        ("2021-03-02", "changed", "1293-20"),
        ("2099-01-01", "changed", "9999-20"),
    ]
    diff = history["diff"]
    assert (diff["from_edition"]["date"], diff["to_edition"]["date"], diff["same"]) == (
        "2004-01-01",
        "2021-03-02",
        False,
    )
    inserted = " ".join(c["text"] for c in diff["changes"] if c["op"] == "insert")
    assert inserted.startswith("3. Положення частини другої цієї статті") and not any(
        c["op"] == "delete" for c in diff["changes"]
    )
    added = checked(laws, "get_article_history", {"act": "ЦК", "article": "16¹"})
    assert [(c["date"], c["change"]) for c in added["changes"]] == [("2022-03-15", "added"), ("2099-01-01", "removed")]


def test_citations_resolve_to_the_text_on_the_date(laws: str) -> None:
    text = (
        "Суд застосовує ст. 625 ЦК України, ч. 2 ст. 16 ЦПК, п. 3 ч. 1 ст. 284 КАС, статтю 1 Закону України "
        "«Про захист прав споживачів» та ст. 16-1 ЦК; посилання на ст. 9999 ЦК помилкове."
    )
    result = checked(laws, "resolve_citations", {"text": text, "as_of_date": "2021-03-01"})
    by_quote = {c["quote"]: c for c in result["citations"]}
    civil = by_quote["ст. 625 ЦК України"]
    assert civil["found"] and civil["act"]["nreg"] == "435-15" and civil["act"]["status"] == "Чинний"
    assert civil["url"] == "https://zakon.rada.gov.ua/laws/show/435-15/ed20040101"
    assert "три проценти річних" in civil["text"]
    assert (by_quote["п. 3 ч. 1 ст. 284 КАС"]["part"], by_quote["п. 3 ч. 1 ст. 284 КАС"]["point"]) == (1, 3)
    consumers = by_quote["статтю 1 Закону України «Про захист прав споживачів»"]
    assert consumers["found"] and consumers["act"]["nreg"] == "1023-12"
    assert by_quote["ст. 16-1 ЦК"]["message"] == "435-15 has no article 16-1 in its edition of 01.01.2004"
    assert by_quote["ст. 9999 ЦК"]["found"] is False
    later = checked(laws, "resolve_citations", {"text": "ст. 16-1 ЦК"})
    assert later["citations"][0]["found"] is True


def test_what_amended_an_act_and_what_it_amends(laws: str) -> None:
    card = checked(laws, "get_legislation", {"act": "ЦК"})
    assert [(r["act"], r["relation"], r["since"]) for r in card["amended_by"]] == [
        ("1293-20", "Змінюється документом", "2021-03-02"),
        ("2120-20", "Змінюється документом", "2022-03-15"),
        ("9999-20", "Змінюється документом", "2099-01-01"),
    ]
    assert card["amended_by"][0]["title"] == "Про внесення змін до Цивільного кодексу України"
    assert card["amends"] == [] and card["relations"] == []
    amending = checked(laws, "get_legislation", {"act": "9999-20"})
    assert [(r["act"], r["relation"], r["direction"]) for r in amending["amends"]] == [
        ("435-15", "Змінює документ", "outgoing")
    ]
    assert [(r["act"], r["relation"], r["relation_code"]) for r in amending["relations"]] == [
        ("1001-12", "Визнає нечинним", 22)
    ]
    repealed = checked(laws, "get_legislation", {"act": "1001-12"})
    assert [(r["act"], r["relation"], r["direction"]) for r in repealed["relations"]] == [
        ("9999-20", "Втрачає чинність", "incoming")
    ]
    editions = checked(laws, "list_legislation_editions", {"act": "ЦК"})
    assert editions["editions"][1]["amending_acts"] == [
        {
            "act": "1293-20",
            "title": "Про внесення змін до Цивільного кодексу України",
            "url": "https://zakon.rada.gov.ua/laws/show/1293-20",
        }
    ]
    assert editions["editions"][0]["amending_acts"] == []


def test_bad_arguments_name_their_field(laws: str) -> None:
    with pytest.raises(ToolRecordNotFound) as caught:
        call(laws, "get_legislation", {"act": "Кодекс про неіснуюче"})
    assert caught.value.field == "act"
    with pytest.raises(ToolInputError) as bad:
        call(
            laws,
            "get_article_history",
            {"act": "ЦК", "article": "625", "from_date": "2022-01-01", "to_date": "2021-01-01"},
        )
    assert bad.value.field == "to_date"


def test_the_committed_demo_mirror_is_what_its_script_writes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo_rada_laws", ROOT / "scripts" / "make_demo_rada_laws.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(tmp_path / "mirror")
    written = {
        p.relative_to(tmp_path / "mirror"): p.read_bytes() for p in (tmp_path / "mirror").rglob("*") if p.is_file()
    }
    committed = {p.relative_to(DEMO): p.read_bytes() for p in DEMO.rglob("*") if p.is_file()}
    assert written == committed
