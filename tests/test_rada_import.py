"""`secondlayer import rada-deputies` and `import rada-bills`: the real deputies file as published, bills in the
full and light formats, idempotence, updates, control characters, impossible dates, a broken file, initiators
linked to deputies loaded later, and a URL source served from loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.config import load_settings
from app.corpus.rada.queries import get_bill, get_deputy
from app.corpus.sync import run_sync, sync_specs
from tests.helpers_corpus import PublisherSite
from tests.helpers_rada import (
    CONCLUSION,
    REAL_DEPUTIES,
    STEFANCHUK,
    UNLOADED_PERSON,
    bill,
    light,
    write_array,
)
from tests.helpers_server import run_db


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def rada(cli: Any, url: str, *args: str) -> Any:
    return cli("import", *args, env={"DATABASE_URL": url})


def summary(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_real_deputies_file_imports_as_published_and_again_changes_nothing(cli: Any, empty_database: str) -> None:
    first = summary(rada(cli, empty_database, "rada-deputies", str(REAL_DEPUTIES), "--json"))
    assert (first["deputies"], first["added"], first["bad"]) == (462, 462, 0)
    again = summary(rada(cli, empty_database, "rada-deputies", str(REAL_DEPUTIES), "--json"))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 462)
    # A person id on two records, and a rada_id shared by two people, are both kept.
    twice = rows(empty_database, "SELECT rada_id FROM deputies WHERE person_id = 21214 ORDER BY rada_id")
    assert [r["rada_id"] for r in twice] == [134, 450]
    assert len(rows(empty_database, "SELECT person_id FROM deputies WHERE rada_id = 467")) == 2
    bodies = rows(empty_database, "SELECT kind, count(*) AS n FROM rada_bodies GROUP BY kind")
    assert {r["kind"]: r["n"] for r in bodies} == {
        "leadership": 1,
        "committee": 23,
        "faction": 4,
        "group": 4,
        "subcommittee": 181,
        "commission": 14,
    }
    parties = rows(empty_database, "SELECT count(*) AS n FROM rada_dictionaries WHERE dictionary = 'parties'")
    assert parties[0]["n"] == 204
    deputy = run_db(empty_database, lambda db: get_deputy(db, 21214))
    assert deputy["rada_id"] == 450 and deputy["faction"] and deputy["attendance"]["presentAuto_present"] == 183
    assert deputy["url"] == "https://itd.rada.gov.ua/mps/info/page/21214"
    runs = rows(empty_database, "SELECT status, added, unchanged FROM data_imports WHERE dataset = 'rada-deputies'")
    assert sorted((r["status"], r["added"], r["unchanged"]) for r in runs) == [
        ("succeeded", 0, 462),
        ("succeeded", 462, 0),
    ]


def test_full_then_light_then_later_full_file(cli: Any, empty_database: str, tmp_path: Path) -> None:
    bills = [bill(70001, "1001", "Про судоустрій"), bill(70002, "1002", "Про нотаріат")]
    full = summary(
        rada(cli, empty_database, "rada-bills", str(write_array(tmp_path / "billinfo-skl9.json", bills)), "--json")
    )
    assert (full["read"], full["added"], full["bad"]) == (2, 2, 0)
    # The light list moves bill 1001 on and carries no initiators or documents: they stay.
    moved = light(bills[0]) | {
        "currentPhase": {"date": "2024-04-01", "title": "Прийнято в цілому", "status": "прийнято"}
    }
    listed = write_array(tmp_path / "billinfo_list-skl9.json", [moved, light(bills[1])])
    result = summary(rada(cli, empty_database, "rada-bills", str(listed), "--json"))
    assert (result["updated"], result["unchanged"]) == (1, 1)
    got = run_db(empty_database, lambda db: get_bill(db, "1001"))
    assert got["phase"] == "Прийнято в цілому" and got["phase_date"] == "2024-04-01"
    assert len(got["initiators"]) == 3 and len(got["documents"]) == 1
    assert got["lead_committee"] == "Комітет з питань правової політики"
    # A later full file adds the expert department's conclusion and a step of the passage.
    later = bills[0] | {
        "workflow": [
            CONCLUSION
            | {
                "id": 5,
                "registrationNum": "16/3-1",
                "registrationDate": "2024-03-20",
                "docFiles": [{"url": "https://itd.rada.gov.ua/f/5"}],
            }
        ],
        "passings": bills[0]["passings"] + [{"date": "2024-04-01", "title": "Прийнято в цілому"}],
        "currentPhase": moved["currentPhase"],
    }
    again = summary(
        rada(
            cli,
            empty_database,
            "rada-bills",
            str(write_array(tmp_path / "b2.json", [later])),
            "--convocation",
            "9",
            "--json",
        )
    )
    assert again["updated"] == 1
    got = run_db(empty_database, lambda db: get_bill(db, "1001"))
    assert (
        got["expert_conclusion"]["number"] == "16/3-1"
        and got["expert_conclusion"]["url"] == "https://itd.rada.gov.ua/f/5"
    )
    assert [p["title"] for p in got["passage"]][-1] == "Прийнято в цілому"
    same = summary(rada(cli, empty_database, "rada-bills", str(tmp_path / "b2.json"), "--convocation", "9", "--json"))
    assert (same["added"], same["updated"], same["unchanged"]) == (0, 0, 1)


def test_initiators_link_to_deputies_loaded_later(cli: Any, empty_database: str, tmp_path: Path) -> None:
    path = write_array(tmp_path / "billinfo-skl9.json", [bill(70003, "1003", "Про адвокатуру")])
    summary(rada(cli, empty_database, "rada-bills", str(path), "--json"))
    before = run_db(empty_database, lambda db: get_bill(db, "1003"))
    assert [i["deputy"] for i in before["initiators"]] == [None, None, None]
    assert before["initiators"][0]["name"] == "Стефанчук Руслан Олексійович"
    summary(rada(cli, empty_database, "rada-deputies", str(REAL_DEPUTIES), "--json"))
    after = run_db(empty_database, lambda db: get_bill(db, "1003"))
    linked = after["initiators"][0]["deputy"]
    assert linked["person_id"] == STEFANCHUK and linked["url"].endswith(f"/{STEFANCHUK}")
    assert after["initiators"][1]["person_id"] == UNLOADED_PERSON and after["initiators"][1]["deputy"] is None
    assert after["initiators"][2]["name"] == "Кабінет Міністрів України"
    deputy = run_db(empty_database, lambda db: get_deputy(db, STEFANCHUK))
    assert deputy["bills_initiated"] == 1 and deputy["bills"][0]["number"] == "1003"


def test_control_characters_impossible_dates_and_bad_records(cli: Any, empty_database: str, tmp_path: Path) -> None:
    odd = bill(70004, "1004", "Про\x01 архівну\x1f справу", registrationDate="0006-05-01")
    odd["source"][0]["registrationDate"] = "3013-01-01"
    records = [odd, {"name": "без id"}, "not an object", bill(70005, "1005", "Про музеї")]
    path = tmp_path / "billinfo-skl9.json"
    write_array(path, records)
    # The raw control characters are inside the JSON strings, as in the feed.
    raw = path.read_bytes().replace(b"\\u0001", b"\x01").replace(b"\\u001f", b"\x1f")
    assert b"\x01" in raw
    path.write_bytes(raw)
    result = summary(rada(cli, empty_database, "rada-bills", str(path), "--json"))
    assert (result["added"], result["bad"], result["date_warnings"]) == (2, 2, 2)
    got = run_db(empty_database, lambda db: get_bill(db, "1004"))
    assert got["title"] == "Про архівну справу" and got["registered_on"] is None
    assert got["documents"][0]["date"] is None
    problems = rows(empty_database, "SELECT details FROM data_imports WHERE dataset = 'rada-bills'")
    assert "impossible year 0006" in json.dumps(problems, ensure_ascii=False)


def test_broken_file_reports_the_byte_offset_and_keeps_what_was_read(
    cli: Any, empty_database: str, tmp_path: Path
) -> None:
    good = [bill(80000 + n, str(2000 + n), f"Про зміни № {n}") for n in range(700)]
    path = write_array(tmp_path / "billinfo-skl9.json", good, tail=b',\n{"id": 1, "name": "x", ]')
    offset = path.read_bytes().rindex(b"]")
    result = rada(cli, empty_database, "rada-bills", str(path))
    assert result.returncode != 0
    assert f"broken JSON at byte {offset}" in result.stderr and "Traceback" not in result.stderr
    assert rows(empty_database, "SELECT count(*) AS n FROM bills")[0]["n"] == 700
    runs = rows(empty_database, "SELECT status FROM data_imports WHERE dataset = 'rada-bills'")
    assert [r["status"] for r in runs] == ["failed"]


def test_not_a_deputies_file_is_refused_whole(cli: Any, empty_database: str, tmp_path: Path) -> None:
    path = tmp_path / "mps-data.json"
    path.write_text('{"mps": [', encoding="utf-8")
    result = rada(cli, empty_database, "rada-deputies", str(path), "--convocation", "9")
    assert result.returncode != 0 and "broken JSON at byte" in result.stderr and "Traceback" not in result.stderr
    assert rows(empty_database, "SELECT count(*) AS n FROM deputies")[0]["n"] == 0


def test_a_url_source_downloads_once_and_skips_an_unchanged_publication(
    cli: Any, empty_database: str, publisher: PublisherSite
) -> None:
    mirror = publisher.root / "ogd" / "zpr" / "skl9"
    mirror.mkdir(parents=True)
    write_array(mirror / "billinfo-skl9.json", [bill(70010, "1010", "Про архіви")])
    (publisher.root / "mps-data.json").write_bytes(REAL_DEPUTIES.read_bytes())
    # The base URL of the convocation's directory: the full file is found there, the convocation read from it.
    first = summary(rada(cli, empty_database, "rada-bills", publisher.url("ogd/zpr/skl9/"), "--json"))
    assert (first["added"], first["source"]) == (1, publisher.url("ogd/zpr/skl9/billinfo-skl9.json"))
    again = summary(rada(cli, empty_database, "rada-bills", publisher.url("ogd/zpr/skl9/"), "--json"))
    assert again["unchanged_publication"] is True
    conditional = [h for path, h in publisher.requests if path.endswith("billinfo-skl9.json")][-1]
    assert "If-None-Match" in conditional or "If-Modified-Since" in conditional
    statuses = rows(empty_database, "SELECT status FROM data_imports WHERE dataset = 'rada-bills' ORDER BY id")
    assert [r["status"] for r in statuses] == ["succeeded", "unchanged"]
    deputies = summary(
        rada(cli, empty_database, "rada-deputies", publisher.url("mps-data.json"), "--convocation", "9", "--json")
    )
    assert deputies["added"] == 462
    missing = rada(cli, empty_database, "rada-bills", publisher.url("ogd/zpr/skl8/"))
    assert missing.returncode != 0 and "holds none of: billinfo-skl8.json" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_sync_imports_from_its_url(empty_database: str, publisher: PublisherSite, tmp_path: Path) -> None:
    write_array(publisher.root / "billinfo-skl9.json", [bill(70011, "1011", "Про бібліотеки")])
    settings = load_settings(
        {"DATABASE_URL": empty_database, "SECONDLAYER_DATA_DIR": str(tmp_path), "PUBLIC_URL": "http://127.0.0.1:8000"}
    ).replace(sync_rada_bills_url=publisher.url("billinfo-skl9.json"))
    spec = sync_specs()["rada-bills"]
    result = run_db(empty_database, lambda db: run_sync(db, settings, spec))
    assert result["status"] == "ok" and result["added"] == 1
    assert rows(empty_database, "SELECT actor FROM data_imports")[0]["actor"] == "schedule"
