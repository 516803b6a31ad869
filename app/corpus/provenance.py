"""Where the corpus came from: the official datasets, and a record of every import of them.

An import runs inside `import_run(...)`: its row in `data_imports` is written when it starts (status running)
and finished in a transaction of its own, so a failed import is on record even though its data rolled back.
The `sources` tool and the console's Data page read these rows; an importer reads `last_import` to skip a
publication it has already loaded (same ETag or Last-Modified).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.db import Database
from app.db.tables import data_imports

log = logging.getLogger(__name__)

MAX_PROBLEMS_KEPT = 100
# Above this many rows (by the planner's estimate) a table's size is reported from the estimate, not count(*).
EXACT_COUNT_BELOW = 200_000


@dataclass(frozen=True)
class Dataset:
    name: str  # as `secondlayer import NAME` and the sync settings spell it
    label: str
    table: str  # the main table, whose rows are the dataset's records
    publisher: str
    publisher_url: str


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "edrsr",
            "Court decisions (Unified State Register of Court Decisions, ЄДРСР)",
            "court_decisions",
            "State Judicial Administration of Ukraine, on data.gov.ua",
            "https://data.gov.ua/",
        ),
        Dataset(
            "rada-laws",
            "Legislation: acts, editions and texts",
            "legislative_acts",
            "Verkhovna Rada of Ukraine open data",
            "https://data.rada.gov.ua/ogd/zak/laws/",
        ),
        Dataset(
            "rada-bills",
            "Bills of the Verkhovna Rada",
            "bills",
            "Verkhovna Rada of Ukraine open data",
            "https://data.rada.gov.ua/ogd/zpr/",
        ),
        Dataset(
            "rada-deputies",
            "People's deputies, factions and committees",
            "deputies",
            "Verkhovna Rada of Ukraine open data",
            "https://data.rada.gov.ua/ogd/mps/",
        ),
        Dataset(
            "edr",
            "Legal entities and entrepreneurs (Unified State Register, ЄДР)",
            "companies",
            "Ministry of Justice of Ukraine, on data.gov.ua",
            "https://data.gov.ua/",
        ),
    )
}


@dataclass
class ImportRun:
    """The counters and findings of one import; `import_run` records them when it ends."""

    id: int
    dataset: str
    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    bad: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    # Set by the importer: "unchanged" when the publication was already loaded; "rolled_back" before raising
    # out of a strict import, so the record says nothing was kept.
    outcome: str = "succeeded"
    failure_status: str = "failed"

    def problem(self, where: str, reason: str) -> None:
        """A bad row or element, skipped: counted, and the first MAX_PROBLEMS_KEPT kept with their place."""
        self.bad += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append({"where": where, "reason": reason})

    def note(self, key: str, value: Any) -> None:
        self.details[key] = value

    def counts(self) -> dict[str, int]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "bad": self.bad}


def _dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; one of: {', '.join(DATASETS)}") from None


@asynccontextmanager
async def import_run(
    db: Database,
    dataset: str,
    source: str,
    *,
    actor: str,
    etag: str | None = None,
    last_modified: str | None = None,
    published: str | None = None,
) -> AsyncIterator[ImportRun]:
    """Record an import of `dataset` from `source` around the block that performs it.

    The block's exception propagates; the row then says failed (or `run.failure_status`) with its message.
    """
    _dataset(dataset)
    started = time.monotonic()
    run_id = await db.fetch_value(
        data_imports.insert()
        .values(
            dataset=dataset,
            source=source,
            actor=actor,
            status="running",
            etag=etag,
            last_modified=last_modified,
            published=published,
        )
        .returning(data_imports.c.id)
    )
    run = ImportRun(id=run_id, dataset=dataset, source=source)
    status, error = run.outcome, None
    try:
        yield run
        status = run.outcome
    except BaseException as exc:
        status = run.failure_status
        error = (str(exc) or type(exc).__name__)[:1000]
        raise
    finally:
        try:
            await db.execute(
                data_imports.update()
                .where(data_imports.c.id == run_id)
                .values(
                    status=status,
                    finished_at=sa.func.now(),
                    seconds=round(time.monotonic() - started, 3),
                    error=error,
                    problems=run.problems,
                    details=run.details,
                    **run.counts(),
                )
            )
        except Exception:  # the database went away with the import: the row stays "running", and the log says so
            log.exception("could not record the end of import %s of %s", run_id, dataset)


async def set_publication(db: Database, run: ImportRun, *, etag: str | None, last_modified: str | None) -> None:
    """Record the ETag/Last-Modified learnt after the run began (a download happens inside it)."""
    await db.execute(
        data_imports.update().where(data_imports.c.id == run.id).values(etag=etag, last_modified=last_modified)
    )


async def last_import(
    db: Database, dataset: str, *, source: str | None = None, status: str | None = "succeeded"
) -> dict[str, Any] | None:
    """The latest import of `dataset` (from `source`, with `status`; None: any), or None."""
    query = sa.select(data_imports).where(data_imports.c.dataset == dataset)
    if source is not None:
        query = query.where(data_imports.c.source == source)
    if status is not None:
        query = query.where(data_imports.c.status == status)
    return await db.fetch_one(query.order_by(data_imports.c.started_at.desc(), data_imports.c.id.desc()).limit(1))


async def recent_imports(db: Database, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    return await db.fetch_all(
        sa.select(data_imports)
        .order_by(data_imports.c.started_at.desc(), data_imports.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


async def count_imports(db: Database) -> int:
    return int(await db.fetch_value(sa.select(sa.func.count()).select_from(data_imports)))


async def record_count(db: Database, table: str) -> int | None:
    """Rows in `table` (None when it does not exist): exact when small, the planner's estimate when large.

    The estimate sums the partitions of a partitioned table; count(*) over millions of rows would take seconds.
    """
    estimate = await db.fetch_value(
        sa.text(
            "SELECT CASE WHEN to_regclass(:name) IS NULL THEN NULL ELSE "
            "(SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_class c "
            "WHERE c.oid = to_regclass(:name) OR c.oid IN "
            "(SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(:name))) END"
        ),
        {"name": table},
    )
    if estimate is None:
        return None
    if estimate >= EXACT_COUNT_BELOW:
        return int(estimate)
    return int(await db.fetch_value(sa.select(sa.func.count()).select_from(sa.table(table))))


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def dataset_summaries(db: Database) -> list[dict[str, Any]]:
    """Each dataset: how many records are loaded, the last successful import, and the last attempt."""
    summaries = []
    for dataset in DATASETS.values():
        loaded = await last_import(db, dataset.name)
        attempt = await last_import(db, dataset.name, status=None)
        summaries.append(
            {
                "dataset": dataset.name,
                "label": dataset.label,
                "publisher": dataset.publisher,
                "publisher_url": dataset.publisher_url,
                "records": await record_count(db, dataset.table),
                "last_import": None
                if loaded is None
                else {
                    "finished_at": _iso(loaded["finished_at"]),
                    "source": loaded["source"],
                    "published": loaded["published"],
                    **{k: loaded[k] for k in ("added", "updated", "unchanged", "bad")},
                },
                "last_attempt": None
                if attempt is None
                else {
                    "started_at": _iso(attempt["started_at"]),
                    "status": attempt["status"],
                    "error": attempt["error"],
                },
            }
        )
    return summaries
