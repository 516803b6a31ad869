"""`secondlayer import` and the demo corpus: the sub-commands, the progress bar every import shows, and
`bootstrap` loading every family's demo through its importer, only into an empty corpus. Each dataset's own
import is tested in its family's file (test_edrsr_import, test_rada_laws, test_rada_import, test_edr_import)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from app.corpus.progress import Progress
from tests.helpers_server import run_db


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    return run_db(url, lambda db: db.fetch_all(sql))


def test_progress_bar_shows_rate_and_eta() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = Progress("legislation", 1000, out)
    progress.last = 0.0  # draw now
    progress.update(250, 10)
    progress.finish(40)
    text = out.getvalue()
    assert text.startswith("\rlegislation [######------------------]  25.0%  10 lines")
    assert "lines/s  ETA 0:00:0" in text
    assert re.search(r"\r.*\[#{24}\] 100\.0%  40 lines  [\d,]+ lines/s  done in 0:00:00\n$", text)


def test_bootstrap_loads_the_demo_corpus_only_into_an_empty_corpus(cli: Any, empty_database: str) -> None:
    env = {"DATABASE_URL": empty_database, "ADMIN_PASSWORD": "a long enough passphrase"}
    first = cli("bootstrap", "--json", env=env)
    assert first.returncode == 0, first.stderr
    payload = json.loads(first.stdout)
    assert payload["demo_corpus_loaded"] is True
    assert payload["demo_corpus"] == {
        "court decisions": 39,
        "legislation": 11,
        "deputies": 462,
        "bills": 21,
        "edr": 30,
    }
    assert rows(empty_database, "SELECT count(*) AS n FROM legislative_acts") == [{"n": 11}]
    # The court decisions come as the register publishes them, through `import edrsr`, with their RTF texts.
    assert rows(empty_database, "SELECT bool_and(demo) AS all_demo, count(*) AS n FROM court_decisions") == [
        {"all_demo": True, "n": 39}
    ]
    assert rows(empty_database, "SELECT count(*) AS n FROM court_decision_texts WHERE text <> ''") == [{"n": 39}]
    assert rows(empty_database, "SELECT count(*) AS n, bool_and(demo) AS all_demo FROM companies") == [
        {"n": 30, "all_demo": True}
    ]
    assert rows(empty_database, "SELECT count(*) AS n, bool_and(demo) AS all_demo FROM bills") == [
        {"n": 21, "all_demo": True}
    ]

    second = cli("bootstrap", env=env)
    assert second.returncode == 0
    assert "the corpus holds data already; demo corpus not loaded" in second.stdout


def test_import_names_its_sources(cli: Any, empty_database: str) -> None:
    result = cli("import", "--help", env={"DATABASE_URL": empty_database})
    assert result.returncode == 0
    for name in ("edrsr", "edrsr-texts", "rada-laws", "rada-bills", "rada-deputies", "edr"):
        assert name in result.stdout
    gone = cli("import", "court_decisions", "x.jsonl", env={"DATABASE_URL": empty_database})
    assert gone.returncode != 0 and "invalid choice: 'court_decisions'" in gone.stderr
