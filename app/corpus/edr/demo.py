"""The demo register: a small invented dump in the official UO format (scripts/make_demo_edr.py), loaded through
the real importer into an empty corpus by `secondlayer bootstrap`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import IO

from app.corpus.edr.load import Counts, load, xml_sources
from app.db import Database

DEMO_DUMP = Path(__file__).resolve().parent.parent.parent / "demo" / "edr" / "UO_FULL_out.xml"


async def load_demo_register(db: Database, progress: IO[str] | None = None) -> tuple[str, int]:
    """("edr", entities loaded); the rows are marked demo and a real import replaces them."""
    counts = Counts()
    result = await asyncio.to_thread(load, db.url, xml_sources(DEMO_DUMP), counts, run_id=None, demo=True)
    if counts.problems:
        raise RuntimeError(f"the demo register has bad elements: {counts.problems[:3]}")
    if progress is not None:
        progress.write(f"demo edr: {result.entities} entities\n")
    return "edr", result.entities
