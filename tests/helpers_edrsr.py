"""Publications of the court register in its official format, written for the tests: the dictionaries and
documents.csv (tab-separated, quoted, `+02`/`+03` timestamps) in a directory or a zip archive."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from app.corpus.edrsr.format import DOCUMENT_COLUMNS, dump_row, kyiv_timestamp

COURTS = [
    ("0713", "Бориславський міський суд Львівської області", 3, 13),
    ("910", "Господарський суд міста Києва", 3, 26),
    ("4910", "Північний апеляційний господарський суд", 2, 26),
    ("9901", "Касаційний господарський суд Верховного Суду", 1, 27),
]
DICTIONARIES: dict[str, tuple[list[str], list[Any]]] = {
    "courts.csv": (["court_code", "name", "instance_code", "region_code"], COURTS),
    "instances.csv": (["instance_code", "name"], [(1, "Касаційна"), (2, "Апеляційна"), (3, "Перша")]),
    "regions.csv": (["region_code", "name"], [(13, "Львівська область"), (26, "м. Київ"), (27, "Верховний Суд")]),
    "justice_kinds.csv": (["justice_kind", "name"], [(1, "Цивільне"), (3, "Господарське")]),
    "judgment_forms.csv": (["judgment_code", "name"], [(2, "Постанова"), (3, "Рішення"), (5, "Ухвала")]),
    "cause_categories.csv": (["category_code", "name"], [(41080, "про стягнення заборгованості"), (40001, "оренди")]),
}
TEXT_HOST = "http://od.reyestr.court.gov.ua"


def document(doc_id: int, **fields: Any) -> dict[str, Any]:
    """A documents.csv row: sensible values unless given (dates as dt.date become dump timestamps)."""
    row: dict[str, Any] = {
        "doc_id": doc_id,
        "court_code": "910",
        "judgment_code": 3,
        "justice_kind": 3,
        "category_code": 41080,
        "cause_num": f"910/{doc_id % 10000}/23",
        "adjudication_date": dt.date(2023, 7, 12),
        "receipt_date": dt.date(2023, 6, 1),
        "judge": "Довжанин М. М.",
        "doc_url": f"{TEXT_HOST}/files/{doc_id % 90 + 10}/{doc_id:x}.rtf",
        "status": 1,
        "date_publ": dt.date(2023, 7, 15),
    }
    row.update(fields)
    return row


def documents_csv(rows: list[dict[str, Any]]) -> str:
    lines = [dump_row(DOCUMENT_COLUMNS)]
    for row in rows:
        values = [row[c] for c in DOCUMENT_COLUMNS]
        lines.append(dump_row(kyiv_timestamp(v) if isinstance(v, dt.date) else v for v in values))
    return "".join(lines)


def write_publication(directory: Path, rows: list[dict[str, Any]], *, raw_documents: bytes | None = None) -> Path:
    """The publication's files in `directory`; `raw_documents` replaces documents.csv byte for byte."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, (header, entries) in DICTIONARIES.items():
        (directory / name).write_text(dump_row(header) + "".join(dump_row(e) for e in entries), encoding="utf-8")
    data = raw_documents if raw_documents is not None else documents_csv(rows).encode("utf-8")
    (directory / "documents.csv").write_bytes(data)
    return directory


def zip_publication(directory: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for path in sorted(directory.iterdir()):
            out.write(path, path.name)
    return archive


def rtf(text: str) -> bytes:
    """A windows-1251 RTF file as the register publishes them."""
    body = "".join(
        "\\par\n" if ch == "\n" else ch if ord(ch) < 128 else "".join(f"\\'{b:02x}" for b in ch.encode("cp1251"))
        for ch in text
    )
    return ("{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\f0 " + body + "\\par}").encode()
