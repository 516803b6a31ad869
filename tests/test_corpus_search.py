"""Full-text search over the corpus: folding shared by Python and SQL, query building, Ukrainian inflection,
apostrophes, ranking and snippets, filters, cursors; and the corpus migration's upgrade/downgrade/upgrade."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg2
import pytest

from app.corpus import search
from app.corpus.edrsr import queries
from app.corpus.rada import queries as rada_queries
from app.corpus.search import CursorError, decode_cursor, encode_cursor
from app.corpus.text import FOLD_FROM, QueryError, build_tsquery, fold, stem
from app.db.schema import downgrade, upgrade
from tests.helpers_corpus import load_demo
from tests.helpers_server import run_db

pytestmark = pytest.mark.usefixtures("demo_corpus")


def run(database_url: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return run_db(database_url, lambda db: fn(db, *args, **kwargs))


def court_search(db: Any, query: str, *, limit: int = 10, cursor: str | None = None, **filters: Any) -> Any:
    return queries.search_court_decisions(db, query, queries.Filters(**filters), limit=limit, cursor=cursor)


def cases(page: search.Page) -> list[str]:
    return [r["case_number"] for r in page.results]


# ---- folding and query building ----------------------------------------------------------------


def test_python_fold_equals_sql_fold(database_url: str) -> None:
    sample = FOLD_FROM + " Ґрунт ЇЖАК Єдність п'ять п’ять пʼять п`ять ЗАКО́Н Ёлка Hello 910/1234/23 «лапки»"
    in_sql = run_db(database_url, lambda db: db.fetch_value("SELECT secondlayer_fold(%(v)s)", {"v": sample}))
    assert in_sql == fold(sample)
    assert fold("Ґрунт П’ЯТЬ ЗАКО́Н") == "грунт пʼять закон"


def test_stems_and_tsquery() -> None:
    assert stem("заборгованості") == "заборгованост"
    assert stem("стягнення") == "стягн"
    assert stem("суд") == "суд"
    assert build_tsquery("Стягнення заборгованості") == "'стягн':* & ( 'заборгованост':* | 'заборгованіст':* )"
    assert build_tsquery("договір") == "( 'договір':* | 'договор':* | 'договер':* )"
    assert build_tsquery("позову") == "( 'позов':* | 'позів':* )"
    # -ість nouns: the query's nominative must find the genitive of "строк позовної давності"
    assert build_tsquery("давність") == "( 'давніст':* | 'давност':* | 'давнест':* )"
    assert build_tsquery("відповідальність") == "( 'відповідальніст':* | 'відповідальност':* | 'відповідальнест':* )"
    assert build_tsquery("ч. 1 ст. 130 КУпАП") == "'1' & '130' & 'купап':*"
    assert (
        build_tsquery('"договір підряду" -банкрутство')
        == "( ( 'договір':* | 'договор':* | 'договер':* ) <-> 'підряд':* ) & !'банкрутств':*"
    )
    assert build_tsquery("аліменти OR утримання") == "( 'алімент':* | 'алімінт':* ) | 'утрим':*"
    assert build_tsquery("O'Neil's") == "'oʼneilʼs':*"  # quotes can never break out of a lexeme


@pytest.mark.parametrize("query", ["", "   ", "...", "«»", "-суд", "- -", '-"два слова"'])
def test_a_query_with_nothing_to_search_is_refused(query: str) -> None:
    with pytest.raises(QueryError):
        build_tsquery(query)


def test_stop_words_alone_are_still_searched() -> None:
    assert build_tsquery("про") == "'про':*"


# ---- searching the demo corpus ---------------------------------------------------------------------


def test_inflected_forms_find_each_other(database_url: str) -> None:
    # The documents say "договором поставки", "договору поставки"; the user types the nominative.
    page = run(database_url, court_search, "договір поставки", limit=50)
    assert {"910/4312/23", "910/7781/23", "910/11065/22"} <= set(cases(page))
    # "позов" vs "позову"/"позовом", and "орендна плата" vs "орендної плати".
    assert run(database_url, court_search, "орендна плата", limit=50).results
    assert {r["case_number"] for r in run(database_url, court_search, "орендна плата", limit=50).results} == {
        "914/2210/23",
        "914/3587/23",
    }


def test_apostrophes_and_case_do_not_matter(database_url: str) -> None:
    found = [
        set(cases(run(database_url, court_search, q, limit=50)))
        for q in ("зобов'язання", "зобов’язання", "ЗОБОВʼЯЗАННЯ", "зобов`язання")
    ]
    assert found[0] and all(f == found[0] for f in found)
    assert "910/4312/23" in found[0]


def test_g_with_upturn_is_folded(database_url: str) -> None:
    assert cases(run(database_url, court_search, "грунтову ділянку")) == ["369/11872/23"]
    assert cases(run(database_url, court_search, "ґрунтову ділянку")) == ["369/11872/23"]


def test_results_are_ranked_with_highlighted_snippets(database_url: str) -> None:
    page = run(database_url, court_search, "поновлення на роботі", limit=20)
    ranks = [r["rank"] for r in page.results]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > 0
    assert {r["category"] for r in page.results} >= {
        "Цивільні справи; Справи позовного провадження; Спори, що виникають із трудових правовідносин; "
        "про поновлення на роботі"
    }
    first = page.results[0]
    assert "**поновлення**" in first["snippet"].lower() and "**роботі**" in first["snippet"].lower()
    assert first["url"] == f"https://reyestr.court.gov.ua/Review/{first['doc_id']}"


def test_case_number_finds_its_decisions(database_url: str) -> None:
    page = run(database_url, court_search, "757/31452/23-ц", limit=10)
    assert set(cases(page)) == {"757/31452/23-ц"} and len(page.results) == 3


def test_filters_narrow_the_matches(database_url: str) -> None:
    everything = cases(run(database_url, court_search, "суд", limit=50))
    commercial = run(database_url, court_search, "суд", justice_kind="commercial", limit=50)
    assert commercial.results and {r["justice_kind"] for r in commercial.results} == {"Господарське"}
    assert len(commercial.results) < len(everything)
    appeal = run(database_url, court_search, "суд", court="апеляційний господарський", limit=50)
    assert appeal.results and all("апеляційний господарський" in r["court"] for r in appeal.results)
    dated = run(
        database_url,
        court_search,
        "суд",
        date_from=dt.date(2023, 9, 1),
        date_to=dt.date(2023, 9, 30),
        limit=50,
    )
    assert dated.results and all("2023-09-01" <= r["adjudication_date"] <= "2023-09-30" for r in dated.results)
    # LIKE wildcards in the court filter are literal characters.
    assert run(database_url, court_search, "суд", court="%").results == []


def test_pages_follow_the_cursor_without_overlap(database_url: str) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page = run(database_url, court_search, "суд", limit=7, cursor=cursor)
        seen.extend(r["doc_id"] for r in page.results)
        cursor = page.next_cursor
        if cursor is None:
            break
    everything = run(database_url, court_search, "суд", limit=50)
    assert len(seen) == len(set(seen)) == len(everything.results)
    assert seen == [r["doc_id"] for r in everything.results]


def test_cursors_are_opaque_and_bound_to_their_search() -> None:
    scope = {"query": "суд", "court": None}
    cursor = encode_cursor("court", scope, 20)
    assert "20" not in cursor and decode_cursor(cursor, "court", scope) == 20
    with pytest.raises(CursorError, match="different search"):
        decode_cursor(cursor, "court", {"query": "інше"})
    for bad in ("nonsense", "eyJvIjogLTF9", encode_cursor("court", scope, 10**9), "%%%"):
        with pytest.raises(CursorError):
            decode_cursor(bad, "court", scope)


def test_legislation_search_filters_by_status_type_issuer_and_dates_in_words(database_url: str) -> None:
    codes = run(database_url, search.search_legislation, "кодекс", status="ЧИННИЙ", act_type="кодекс", limit=50)
    assert {r["nreg"] for r in codes.results} == {"435-15", "1618-15", "2747-15", "2947-14"}
    assert all(r["status"] == "Чинний" and "Кодекс" in r["types"] and r["url"] for r in codes.results)
    lost = run(database_url, search.search_legislation, "власність", status="втратив")
    assert [(r["nreg"], r["status"]) for r in lost.results] == [("1001-12", "Втратив чинність")]
    cabinet = run(database_url, search.search_legislation, "карантину", issuer="кабінет міністрів")
    assert [r["nreg"] for r in cabinet.results] == ["1099-2020-п"]
    assert run(database_url, search.search_legislation, "карантину", issuer="верховна рада").results == []
    dated = run(
        database_url, search.search_legislation, "кодекс", date_from=dt.date(2004, 1, 1), date_to=dt.date(2005, 12, 31)
    )
    assert {r["nreg"] for r in dated.results} == {"1618-15", "2747-15"}


def test_articles_of_current_editions_are_searched_for_chatgpt(database_url: str) -> None:
    found = run(database_url, search.search_articles, "позовної давності")
    assert {(r["nreg"], r["number"]) for r in found[:2]} == {("435-15", "256"), ("435-15", "257")}
    assert all(r["url"].startswith("https://zakon.rada.gov.ua/laws/show/435-15/ed") for r in found)


def test_bills_search(database_url: str) -> None:
    bills = run(database_url, rada_queries.search_bills, "аліментів")
    assert bills.results[0]["number"] == "9033"
    dated = run(database_url, rada_queries.search_bills, "закону", status="прийнято")
    assert dated.results and all("рийнято" in r["phase"] for r in dated.results)


def test_search_everything_covers_every_kind(database_url: str) -> None:
    results = run(database_url, search.search_everything, "аліменти")
    kinds = {r["id"].split(":")[0] for r in results}
    assert {"court", "article", "bill"} <= kinds
    assert all(r["url"].startswith("https://") and r["title"] for r in results)


# ---- the migration ---------------------------------------------------------------------------------


def _objects(url: str) -> dict[str, Any]:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT count(*) FROM pg_ts_config WHERE cfgname = 'secondlayer_uk'")
        (configs,) = cur.fetchone() or (0,)
        cur.execute("SELECT count(*) FROM pg_proc WHERE proname = 'secondlayer_fold'")
        (functions,) = cur.fetchone() or (0,)
    conn.close()
    return {"tables": tables, "config": configs, "function": functions}


def test_corpus_migration_upgrades_downgrades_and_upgrades(make_database: Callable[..., str]) -> None:
    url = make_database("sl_corpus_migration")
    upgrade(url, "0002")
    corpus = {"court_decisions", "legislative_acts", "bills", "companies"}
    up = _objects(url)
    assert corpus <= up["tables"] and up["config"] == 1 and up["function"] == 1
    conn = psycopg2.connect(url)  # a row in a 0002 table, for the downgrade to drop with it
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO legislative_acts (reg_number, title, kind, status) VALUES ('435-15', 'ЦК', 'Кодекс', 'чинний')"
        )
    conn.close()
    downgrade(url, "0001")
    down = _objects(url)
    assert not corpus & down["tables"] and down["config"] == 0 and down["function"] == 0
    assert "users" in down["tables"]
    upgrade(url, "0002")
    assert _objects(url) == up
    # The demo data need the later schema (the register's tables come with migration 0006).
    upgrade(url)
    assert load_demo(url)["court decisions"] == 39
