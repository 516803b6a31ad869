"""The ЄДР importer: the official XML dumps (UO, FOP, FSU, zip, legacy) in windows-1251 or UTF-8, bad elements
reported by number with the rest imported, --strict rolling back, re-imports updating, vanishing and keeping
history, and flat memory while parsing."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.corpus.edr.load import Counts, LoadResult, SourceError, StrictStop, load, xml_sources
from app.corpus.edr.parse import read_elements
from app.db import Database
from tests.helpers_corpus import PublisherSite, call
from tests.helpers_server import run_db

FOUNDER_CODE = "00032129"  # a valid code of an entity that founds ALPHA


def subject(
    code: str, name: str, *, status: str = "зареєстровано", head: str = "ІВАНЕНКО ІВАН ІВАНОВИЧ", extra: str = ""
) -> str:
    return (
        f"<SUBJECT><NAME>ТОВ «{name}»</NAME><EDRPOU>{code}</EDRPOU><STAN>{status}</STAN>"
        "<ADDRESS>79000, Львівська обл., місто Львів, вулиця Зелена, 1</ADDRESS>"
        "<REGISTRATION>12.03.2004; 1 070 102 0000 012345</REGISTRATION><AUTHORIZED_CAPITAL>1000,00</AUTHORIZED_CAPITAL>"
        f"<SIGNERS><SIGNER>{head} - керівник</SIGNER><SIGNER>ПЕТРЕНКО ПЕТРО - підписант</SIGNER></SIGNERS>"
        "<FOUNDERS><FOUNDER>ІВАНЕНКО ІВАН ІВАНОВИЧ, 79000, м. Львів, розмір частки - 600,00 грн.</FOUNDER>"
        f"<FOUNDER>ТОВ «БЕТА, ГРУП», {FOUNDER_CODE}, 01001, м. Київ, розмір частки - 400,00 грн.</FOUNDER></FOUNDERS>"
        "<BENEFICIARIES><BENEFICIARY>КІНЦЕВИЙ БЕНЕФІЦІАРНИЙ ВЛАСНИК (КОНТРОЛЕР) - ІВАНЕНКО ІВАН ІВАНОВИЧ, Україна, "
        "тип бенефіціарного володіння: Прямий вирішальний вплив</BENEFICIARY></BENEFICIARIES>"
        "<ACTIVITY_KINDS><ACTIVITY_KIND><CODE>62.01</CODE><NAME>Програмування</NAME><PRIMARY>так</PRIMARY>"
        "</ACTIVITY_KIND></ACTIVITY_KINDS>"
        "<EXCHANGE_DATA><EXCHANGE_ANSWER><TAX_PAYER_TYPE>платник ПДВ</TAX_PAYER_TYPE></EXCHANGE_ANSWER></EXCHANGE_DATA>"
        f"{extra}</SUBJECT>\n"
    )


def write_dump(path: Path, subjects: list[str], encoding: str = "windows-1251") -> Path:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<DATA FORMAT_VERSION="1.0">\n' + "".join(subjects) + "</DATA>\n"
    )
    path.write_bytes(text.encode("cp1251" if encoding == "windows-1251" else "utf-8"))
    return path


def run_load(url: str, path: Path, *, strict: bool = False, **options: Any) -> tuple[Counts, LoadResult]:
    async def go(db: Database) -> tuple[Counts, LoadResult]:
        counts = Counts()
        result = await asyncio.to_thread(load, db.url, xml_sources(path), counts, run_id=None, strict=strict, **options)
        return counts, result

    return run_db(url, go)


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def test_a_windows_1251_dump_loads_with_bad_elements_reported_by_number(empty_database: str, tmp_path: Path) -> None:
    path = write_dump(
        tmp_path / "UO_FULL_out.xml",
        [
            subject("14360570", "АЛЬФА"),
            subject("14360571", "ПОГАНИЙ КОД"),
            subject(FOUNDER_CODE, "БЕТА, ГРУП", status="щось нове"),
        ],
    )
    counts, result = run_load(empty_database, path)
    assert (counts.added, counts.updated, counts.bad) == (2, 0, 2)
    assert result.kinds == ["uo"]
    wheres = [f"{where}: {reason}" for where, reason in counts.problems]
    assert "element 2 (line 4)" in wheres[0] and "the check digit of 14360571 should be 0" in wheres[0]
    assert "element 3" in wheres[1] and "unknown status 'щось нове'; kept as published" in wheres[1]
    company = rows(empty_database, "SELECT * FROM companies WHERE id = '14360570'")[0]
    assert company["name"] == "ТОВ «АЛЬФА»" and company["status_code"] == "registered"
    assert company["head"] == "ІВАНЕНКО ІВАН ІВАНОВИЧ" and company["region"] == "Львівська область"
    assert company["kveds"] == ["62", "62.01"] and company["tax_registrations"] == [{"tax_payer_type": "платник ПДВ"}]
    people = rows(
        empty_database,
        "SELECT role, name, code, share, share_percent, details FROM company_persons "
        "WHERE company_id = '14360570' ORDER BY role, position",
    )
    assert [(p["role"], p["name"]) for p in people] == [
        ("beneficiary", "ІВАНЕНКО ІВАН ІВАНОВИЧ"),
        ("founder", "ІВАНЕНКО ІВАН ІВАНОВИЧ"),
        ("founder", "ТОВ «БЕТА, ГРУП»"),
        ("head", "ІВАНЕНКО ІВАН ІВАНОВИЧ"),
        ("signer", "ПЕТРЕНКО ПЕТРО"),
    ]
    assert people[0]["details"].startswith("Прямий вирішальний вплив")
    assert (people[2]["code"], float(people[2]["share"]), float(people[2]["share_percent"])) == (FOUNDER_CODE, 400, 40)
    unknown = rows(empty_database, f"SELECT status, status_code FROM companies WHERE id = '{FOUNDER_CODE}'")
    assert unknown == [{"status": "щось нове", "status_code": "unknown"}]


def test_strict_stops_at_the_first_bad_element_and_writes_nothing(empty_database: str, tmp_path: Path) -> None:
    path = write_dump(tmp_path / "UO_FULL_out.xml", [subject("14360570", "АЛЬФА"), subject("14360571", "ПОГАНИЙ")])
    with pytest.raises(StrictStop, match=r"element 2 \(line 4\): EDRPOU '14360571'.*nothing was imported"):
        run_load(empty_database, path, strict=True)
    assert rows(empty_database, "SELECT count(*) AS n FROM companies") == [{"n": 0}]


def test_a_newer_dump_updates_marks_vanished_and_keeps_history(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    first = write_dump(
        tmp_path / "old" / "UO_FULL_out.xml", [subject("14360570", "АЛЬФА"), subject(FOUNDER_CODE, "БЕТА")]
    )
    counts, _ = run_load(empty_database, first)
    assert counts.added == 2
    again, _ = run_load(empty_database, first)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    newer = write_dump(
        tmp_path / "UO_FULL_out.xml",
        [subject("14360570", "АЛЬФА", status="в стані припинення", head="КОВАЛЕНКО ОЛЕНА ПЕТРІВНА")],
    )
    counts, result = run_load(empty_database, newer)
    assert (counts.added, counts.updated, counts.unchanged, result.vanished) == (0, 1, 0, 1)
    history = rows(empty_database, "SELECT company_id, field, value FROM company_history ORDER BY id")
    fields = {(h["company_id"], h["field"], h["value"]) for h in history}
    assert ("14360570", "status", "зареєстровано") in fields
    assert ("14360570", "status", "в стані припинення") in fields
    assert ("14360570", "head", "КОВАЛЕНКО ОЛЕНА ПЕТРІВНА") in fields
    assert (FOUNDER_CODE, "presence", "vanished") in fields
    gone = rows(
        empty_database, f"SELECT name, vanished_at IS NOT NULL AS vanished FROM companies WHERE id = '{FOUNDER_CODE}'"
    )
    assert gone == [{"name": "ТОВ «БЕТА»", "vanished": True}]
    back, _ = run_load(empty_database, first)
    assert back.updated == 2
    assert rows(empty_database, "SELECT count(*) AS n FROM companies WHERE vanished_at IS NOT NULL") == [{"n": 0}]


FOP = (
    "<SUBJECT><NAME>ШЕВЧЕНКО ТАРАС ГРИГОРОВИЧ</NAME><STAN>зареєстровано</STAN>"
    "<ADDRESS>01001, м. Київ, вулиця Хрещатик, 1</ADDRESS>"
    "<REGISTRATION>09.03.2014; 2 070 000 0000 000001</REGISTRATION><FARMER>ні</FARMER></SUBJECT>\n"
)
LEGACY_UO = (
    '<?xml version="1.0" encoding="windows-1251"?>\n<DATA><RECORD><NAME>ПРИВАТНЕ ПІДПРИЄМСТВО "СТАРЕ"</NAME>'
    "<SHORT_NAME>ПП СТАРЕ</SHORT_NAME><EDRPOU>00032129</EDRPOU><ADDRESS>65000, Одеська обл., м. Одеса</ADDRESS>"
    "<BOSS>ПОЛІЩУК ІРИНА</BOSS><KVED>46.90 Неспеціалізована оптова торгівля</KVED><STAN>припинено</STAN>"
    "<FOUNDERS><FOUNDER>ПОЛІЩУК ІРИНА, розмір частки - 100,00 грн.</FOUNDER></FOUNDERS></RECORD></DATA>\n"
)


def test_fop_in_utf8_zip_and_legacy_dumps_are_detected(empty_database: str, tmp_path: Path) -> None:
    fop = write_dump(tmp_path / "FOP_FULL_out.xml", [FOP], encoding="UTF-8")
    archive = tmp_path / "fop.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(fop, "FOP_FULL_out.xml")
    counts, result = run_load(empty_database, archive)
    assert (counts.added, counts.bad, result.kinds) == (1, 0, ["fop"])
    entrepreneur = rows(empty_database, "SELECT id, kind, edrpou, name, head, region FROM companies")
    assert entrepreneur[0]["id"].startswith("fop-") and len(entrepreneur[0]["id"]) == 24
    assert entrepreneur[0]["edrpou"] is None and entrepreneur[0]["region"] == "м. Київ"
    again, _ = run_load(empty_database, fop)  # the same person, the same id, whatever the wrapping
    assert (again.added, again.unchanged) == (0, 1)
    found = call(empty_database, "search_persons", {"name": "шевченко тарас"})["results"]
    assert [(r["role"], r["company"]["id"]) for r in found] == [("head", entrepreneur[0]["id"])]
    record = call(empty_database, "get_company", {"edrpou": entrepreneur[0]["id"]})
    assert record["kind_label"] == "фізична особа-підприємець" and record["details"]["farmer"] == "ні"

    legacy = tmp_path / "15.1-EX_XML_EDR_UO.xml"
    legacy.write_bytes(LEGACY_UO.encode("cp1251"))
    counts, result = run_load(empty_database, legacy)
    assert (counts.added, result.kinds) == (1, ["uo"])
    old = rows(empty_database, "SELECT head, status_code, activities FROM companies WHERE id = '00032129'")
    assert old == [
        {
            "head": "ПОЛІЩУК ІРИНА",
            "status_code": "terminated",
            "activities": [{"code": "46.90", "name": "Неспеціалізована оптова торгівля", "primary": True}],
        }
    ]
    assert rows(empty_database, "SELECT count(*) AS n FROM companies WHERE vanished_at IS NULL") == [{"n": 2}]


def test_malformed_xml_is_reported_and_the_rest_imported(empty_database: str, tmp_path: Path) -> None:
    broken = subject("14360570", "АЛЬФА").replace("</STAN>", "")  # an unclosed element
    path = write_dump(tmp_path / "UO_FULL_out.xml", [broken, subject(FOUNDER_CODE, "БЕТА")])
    counts, _ = run_load(empty_database, path)
    assert counts.bad >= 1 and any("malformed XML" in reason for _, reason in counts.problems)
    assert {r["id"] for r in rows(empty_database, "SELECT id FROM companies")} >= {FOUNDER_CODE}


def test_not_a_dump_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(SourceError, match="neither an XML file nor a zip archive"):
        xml_sources(text)
    with pytest.raises(SourceError, match="no such file"):
        xml_sources(tmp_path / "missing.xml")


def test_parsing_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "UO_FULL_out.xml"
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_demo_edr.py"
    subprocess.run(
        [sys.executable, str(script), "--count", "6000", "--out", str(path)], check=True, capture_output=True
    )
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            count = sum(1 for parsed in read_elements(stream, "uo") if parsed.entity is not None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_the_command_imports_a_zip_from_a_url_once_with_its_provenance(
    cli: Any, empty_database: str, publisher: PublisherSite, tmp_path: Path
) -> None:
    dump_path = write_dump(tmp_path / "UO_FULL_out.xml", [subject("14360570", "АЛЬФА"), subject("14360571", "ПОГАНИЙ")])
    with zipfile.ZipFile(publisher.root / "uo.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(dump_path, "UO_FULL_out.xml")
    url = publisher.url("uo.zip")
    env = {"DATABASE_URL": empty_database}
    result = cli("import", "edr", url, "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["bad"], summary["kinds"], summary["skipped"]) == (1, 1, ["uo"], False)
    assert "uo.zip!UO_FULL_out.xml: element 2 (line 4): EDRPOU '14360571'" in result.stderr
    again = cli("import", "edr", url, env=env)
    assert again.returncode == 0 and "is unchanged since the last import" in again.stdout, again.stderr
    runs = rows(
        empty_database, "SELECT dataset, source, status, added, bad, etag, problems FROM data_imports ORDER BY id"
    )
    assert [(r["dataset"], r["source"], r["status"]) for r in runs] == [
        ("edr", url, "succeeded"),
        ("edr", url, "unchanged"),
    ]
    assert runs[0]["added"] == 1 and runs[0]["bad"] == 1 and runs[0]["etag"]
    assert runs[0]["problems"][0]["where"].endswith("element 2 (line 4)")


def test_the_command_with_strict_rolls_back_and_says_why(cli: Any, empty_database: str, tmp_path: Path) -> None:
    path = write_dump(tmp_path / "UO_FULL_out.xml", [subject("14360570", "АЛЬФА"), subject("14360571", "ПОГАНИЙ")])
    env = {"DATABASE_URL": empty_database}
    result = cli("import", "edr", str(path), "--strict", env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "element 2 (line 4): EDRPOU '14360571'" in result.stderr and "nothing was imported" in result.stderr
    assert rows(empty_database, "SELECT count(*) AS n FROM companies") == [{"n": 0}]
    assert rows(empty_database, "SELECT status FROM data_imports") == [{"status": "rolled_back"}]
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    refused = cli("import", "edr", str(notes), env=env)
    assert refused.returncode == 1 and "neither an XML file nor a zip archive" in refused.stderr
    assert "Traceback" not in refused.stderr


FSU = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<DATA><SUBJECT><NAME>ГРОМАДСЬКА ОРГАНІЗАЦІЯ "ЗЕЛЕНИЙ ДІМ"</NAME>'
    "<EDRPOU>14360570</EDRPOU><TYPE_SUBJECT>Громадська організація</TYPE_SUBJECT><STAN>зареєстровано</STAN>"
    "<ADDRESS>Автономна Республіка Крим, м. Сімферополь</ADDRESS>"
    "<BENEFICIARIES><BENEFICIARY>КІНЦЕВИЙ БЕНЕФІЦІАРНИЙ ВЛАСНИК ВІДСУТНІЙ</BENEFICIARY></BENEFICIARIES>"
    "<BRANCHES><BRANCH><CODE>00032129</CODE><NAME>ОСЕРЕДОК</NAME><SIGNER>ПЕТРЕНКО ПЕТРО - керівник</SIGNER>"
    "<CREATE_DATE>01.02.2020</CREATE_DATE></BRANCH></BRANCHES>"
    "<ASSIGNEES><ASSIGNEE><NAME>НАСТУПНИК</NAME><CODE>1234567</CODE></ASSIGNEE></ASSIGNEES></SUBJECT></DATA>\n"
)


def test_an_association_is_told_from_its_elements_with_branches_and_notes() -> None:
    parsed = list(read_elements(io.BytesIO(FSU.encode()), None))
    entity = parsed[0].entity
    assert entity is not None and entity.kind == "fsu" and entity.region == "Автономна Республіка Крим"
    assert entity.details["type_subject"] == "Громадська організація"
    assert entity.details["beneficiary_notes"] == ["КІНЦЕВИЙ БЕНЕФІЦІАРНИЙ ВЛАСНИК ВІДСУТНІЙ"]
    assert not [p for p in entity.persons if p.role == "beneficiary"]
    branch = next(link for link in entity.links if link.relation == "branch")
    assert branch.code == "00032129"
    assert branch.details == {"signer": "ПЕТРЕНКО ПЕТРО - керівник", "create_date": "01.02.2020"}
    assignee = next(link for link in entity.links if link.relation == "assignee")
    assert assignee.code is None and assignee.details == {"code_as_published": "1234567"}  # a bad check digit
    assert [(p.role, p.name) for p in entity.persons] == [("branch_signer", "ПЕТРЕНКО ПЕТРО")]


class Killed(Exception):
    """Stands for the process dying between two batches."""


def register_state(url: str) -> dict[str, Any]:
    """What an import leaves in the register, without the times and import ids that differ from run to run."""
    return {
        "companies": rows(
            url,
            "SELECT id, name, status, head, fingerprint, vanished_at IS NOT NULL AS vanished, demo "
            "FROM companies ORDER BY id",
        ),
        "persons": rows(url, "SELECT * FROM company_persons ORDER BY company_id, role, position"),
        "links": rows(url, "SELECT * FROM company_links ORDER BY company_id, relation, position"),
        "history": sorted(
            (r["company_id"], r["field"], r["value"] or "")
            for r in rows(url, "SELECT company_id, field, value FROM company_history")
        ),
    }


def test_a_failed_import_keeps_its_batches_and_the_same_file_resumes_to_a_clean_import_s_result(
    make_database: Any, tmp_path: Path
) -> None:
    from app.db.schema import upgrade

    clean, resumed = make_database("sl_edr_clean"), make_database("sl_edr_resumed")
    upgrade(clean)
    upgrade(resumed)
    (tmp_path / "old").mkdir()
    old = write_dump(
        tmp_path / "old" / "UO_FULL_out.xml", [subject(FOUNDER_CODE, "БЕТА"), subject("14360570", "АЛЬФА")]
    )
    codes = ["30000015", "30000020", "30000036", "30000041", "30000057", "30000062"]
    newer = [subject("14360570", "АЛЬФА", status="в стані припинення", head="КОВАЛЕНКО ОЛЕНА ПЕТРІВНА")]
    newer += [subject(code, f"НОВА {n}") for n, code in enumerate(codes)]
    newer.insert(3, subject("14360571", "ПОГАНИЙ КОД"))  # a bad element between batches
    path = write_dump(tmp_path / "UO_FULL_out.xml", newer)
    for url in (clean, resumed):
        run_load(url, old, batch_size=2)
    clean_counts, clean_result = run_load(clean, path, batch_size=2)
    assert (clean_result.vanished, clean_result.entities, clean_counts.bad) == (1, 7, 1)

    # A truncated copy of the newer dump (a download cut short): read as far as it goes, nothing marked vanished.
    cut = tmp_path / "cut" / "UO_FULL_out.xml"
    cut.parent.mkdir()
    text = path.read_bytes()
    cut.write_bytes(text[: text.index(b"<SUBJECT><NAME>\xd2\xce\xc2 \xab\xcd\xce\xc2\xc0 4")])
    counts, result = run_load(resumed, cut, batch_size=2)
    assert not result.complete and result.vanished == 0
    assert any("malformed XML" in reason for _, reason in counts.problems)
    assert any(where.endswith("end of file") and "cut short" in reason for where, reason in counts.problems)
    assert rows(resumed, "SELECT count(*) AS n FROM edr_import_checkpoints") == [{"n": 0}]  # read to its end

    # The complete dump, killed after its second batch: both batches stay, the vanished are not marked yet.
    batches = []

    def die_after_two(done: int, elements: int) -> None:
        batches.append(elements)
        if len(batches) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_load(resumed, path, batch_size=2, progress=die_after_two)
    assert batches == [2, 4]
    checkpoint = rows(resumed, "SELECT file_index, element, elements, entities FROM edr_import_checkpoints")
    assert checkpoint == [{"file_index": 0, "element": 5, "elements": 4, "entities": 4}]
    assert rows(resumed, "SELECT count(*) AS n FROM companies WHERE vanished_at IS NOT NULL") == [{"n": 0}]
    assert rows(resumed, "SELECT status FROM companies WHERE id = '14360570'") == [{"status": "в стані припинення"}]

    # Run again on the same file: it starts after element 5, and ends where a clean import ends.
    counts, result = run_load(resumed, path, batch_size=2)
    assert (result.resumed_from, result.elements, result.complete) == (4, 3, True)
    # НОВА 3 came with the truncated copy already: the two after it are new.
    assert (result.vanished, result.entities, counts.added, counts.unchanged, counts.bad) == (1, 7, 2, 1, 0)
    assert rows(resumed, "SELECT count(*) AS n FROM edr_import_checkpoints") == [{"n": 0}]
    assert rows(resumed, "SELECT count(*) AS n FROM edr_import_seen") == [{"n": 0}]
    assert register_state(resumed) == register_state(clean)


def test_strict_is_one_transaction_and_starts_over_rather_than_resume(empty_database: str, tmp_path: Path) -> None:
    good = [subject(code, f"НОВА {n}") for n, code in enumerate(["30000015", "30000020", "30000036"])]
    path = write_dump(tmp_path / "UO_FULL_out.xml", [*good, subject("14360571", "ПОГАНИЙ")])
    with pytest.raises(StrictStop, match="element 4"):
        run_load(empty_database, path, strict=True, batch_size=1)
    assert rows(empty_database, "SELECT count(*) AS n FROM companies") == [{"n": 0}]
    assert rows(empty_database, "SELECT count(*) AS n FROM edr_import_checkpoints") == [{"n": 0}]


def test_a_web_page_is_not_a_dump_and_the_sync_wants_a_file_url(
    cli: Any, empty_database: str, publisher: PublisherSite
) -> None:
    from app.config import ConfigError, load_settings
    from app.corpus.edr.commands import EdrImportError, sync_edr

    page = publisher.root / "dataset" / "1c7f3815-3259-45e0-bdf1-64dca07ddc10"
    page.parent.mkdir()
    page.write_text('<!DOCTYPE html>\n<html lang="uk"><head><title>ЄДР</title></head><body></body></html>\n')
    result = cli(
        "import",
        "edr",
        publisher.url("dataset/1c7f3815-3259-45e0-bdf1-64dca07ddc10"),
        env={"DATABASE_URL": empty_database},
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "is a web page (HTML), not a dump" in result.stderr and "uo.zip" in result.stderr
    with pytest.raises(ConfigError, match="SYNC_EDR_URL is a dataset's page, not a file"):
        load_settings({"SYNC_EDR_URL": "https://data.gov.ua/dataset/1c7f3815-3259-45e0-bdf1-64dca07ddc10/"})
    resource = "https://data.gov.ua/dataset/1c7f3815/resource/5f0e8b4c/download/uo.zip"
    assert load_settings({"SYNC_EDR_URL": resource}).sync_edr_url == resource
    assert load_settings({}).sync_edr_url == ""
    with pytest.raises(EdrImportError, match="SYNC_EDR_URL is not set"):
        run_db(empty_database, lambda db: sync_edr(db, load_settings({}), "", None))


def test_an_import_killed_mid_way_resumes_from_its_checkpoint(
    empty_database: str, data_dir: Path, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent
    path = tmp_path / "UO_FULL_out.xml"
    subprocess.run(
        [sys.executable, str(root / "scripts" / "make_demo_edr.py"), "--count", "1500", "--out", str(path)],
        check=True,
        capture_output=True,
    )
    env = {
        **os.environ,
        "DATABASE_URL": empty_database,
        "SECONDLAYER_DATA_DIR": str(data_dir),
        "PUBLIC_URL": "http://127.0.0.1:8000",
    }
    command = [sys.executable, "-m", "app", "import", "edr", str(path), "--batch-size", "50"]
    importer = subprocess.Popen(command, env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        committed: list[dict[str, Any]] = []
        while importer.poll() is None and time.monotonic() < deadline:
            committed = rows(empty_database, "SELECT element FROM edr_import_checkpoints WHERE element >= 150")
            if committed:
                break
            time.sleep(0.05)
        assert committed, "the import ended before three batches were seen committed"
        importer.send_signal(signal.SIGKILL)  # no clean-up at all: the server rolls the open batch back
    finally:
        importer.kill()
        importer.communicate()
    (kept,) = rows(empty_database, "SELECT element, elements FROM edr_import_checkpoints")
    assert kept["element"] == kept["elements"] and kept["element"] % 50 == 0 and kept["element"] < 1500
    assert rows(empty_database, "SELECT count(*) AS n FROM companies") == [{"n": kept["element"]}]

    again = subprocess.run([*command, "--json"], env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed_from"] == kept["element"] and summary["elements"] == 1500 - kept["element"]
    assert (summary["entities"], summary["added"], summary["bad"]) == (1500, 1500 - kept["element"], 0)
    assert rows(empty_database, "SELECT count(*) AS n FROM companies") == [{"n": 1500}]
    assert rows(empty_database, "SELECT count(*) AS n FROM edr_import_checkpoints") == [{"n": 0}]
    runs = rows(empty_database, "SELECT status, details FROM data_imports ORDER BY id")
    assert [r["status"] for r in runs] == ["running", "succeeded"]  # the killed run never wrote its end
    assert runs[1]["details"]["resumed_from_element"] == kept["element"]
