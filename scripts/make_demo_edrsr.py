"""Write the demo publication of the court register: app/demo/edrsr/edrsr_data_2024.zip and its texts.

The archive is in the official ЄДРСР format (documents.csv and the six dictionaries, tab-separated, quoted,
`+02`/`+03` timestamps) and the texts are windows-1251 RTF files under app/demo/edrsr/texts/, at the paths of
their doc_url (two of them are HTML pages named .rtf, as some of the register's files are). The decisions are
invented (scripts/demo_edrsr_source.jsonl); `make run` loads them through the real importer. Run it again
after editing the source: the output is byte-for-byte reproducible.

    .venv/bin/python scripts/make_demo_edrsr.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

from app.corpus.edrsr.format import DOCUMENT_COLUMNS, dump_row, kyiv_timestamp

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "demo_edrsr_source.jsonl"
OUT = ROOT / "app" / "demo" / "edrsr"
ARCHIVE = "edrsr_data_2024.zip"
TEXT_HOST = "http://od.reyestr.court.gov.ua"

INSTANCES = {1: "Касаційна", 2: "Апеляційна", 3: "Перша"}
REGIONS = {
    1: "Вінницька область",
    4: "Дніпропетровська область",
    13: "Львівська область",
    15: "Одеська область",
    20: "Харківська область",
    11: "Київська область",
    26: "м. Київ",
    27: "Верховний Суд",
}
JUSTICE_KINDS = {1: "Цивільне", 2: "Кримінальне", 3: "Господарське", 4: "Адміністративне", 5: "Адмінправопорушення"}
JUDGMENT_FORMS = {
    1: "Вирок",
    2: "Постанова",
    3: "Рішення",
    4: "Судовий наказ",
    5: "Ухвала",
    6: "Окрема ухвала",
    7: "Додаткове рішення",
    10: "Окрема думка",
}
KIND_CODES = {"civil": 1, "criminal": 2, "commercial": 3, "administrative": 4, "administrative_offense": 5}
# Court name -> (court_code, instance_code, region_code). First-instance codes are the prefixes of their case
# numbers, as in the register; one code keeps a leading zero, as real ones do ("0713").
COURTS = {
    "Господарський суд міста Києва": ("910", 3, 26),
    "Господарський суд Львівської області": ("914", 3, 13),
    "Господарський суд Харківської області": ("922", 3, 20),
    "Господарський суд Дніпропетровської області": ("904", 3, 4),
    "Печерський районний суд міста Києва": ("757", 3, 26),
    "Дніпровський районний суд міста Києва": ("755", 3, 26),
    "Шевченківський районний суд міста Львова": ("466", 3, 13),
    "Приморський районний суд міста Одеси": ("522", 3, 15),
    "Шевченківський районний суд міста Києва": ("761", 3, 26),
    "Києво-Святошинський районний суд Київської області": ("369", 3, 11),
    "Солом'янський районний суд міста Києва": ("760", 3, 26),
    "Дарницький районний суд міста Києва": ("753", 3, 26),
    "Оболонський районний суд міста Києва": ("756", 3, 26),
    "Галицький районний суд міста Львова": ("461", 3, 13),
    "Львівський окружний адміністративний суд": ("380", 3, 13),
    "Харківський окружний адміністративний суд": ("520", 3, 20),
    "Одеський окружний адміністративний суд": ("420", 3, 15),
    "Вінницький міський суд Вінницької області": ("0127", 3, 1),
    "Північний апеляційний господарський суд": ("4910", 2, 26),
    "Західний апеляційний господарський суд": ("4914", 2, 13),
    "Східний апеляційний господарський суд": ("4922", 2, 20),
    "Київський апеляційний суд": ("824", 2, 26),
    "Одеський апеляційний суд": ("785", 2, 15),
    "Восьмий апеляційний адміністративний суд": ("857", 2, 13),
    "Другий апеляційний адміністративний суд": ("852", 2, 20),
    "Касаційний господарський суд Верховного Суду": ("9901", 1, 27),
    "Касаційний цивільний суд Верховного Суду": ("9911", 1, 27),
}
# The source names the Supreme Court as a whole; the register names the chamber that decided.
SUPREME = {
    "commercial": "Касаційний господарський суд Верховного Суду",
    "civil": "Касаційний цивільний суд Верховного Суду",
}
HTML_PAGES = 2  # the last decisions' "RTF" files are HTML pages, as some of the register's are


def rtf(text: str) -> bytes:
    """A minimal windows-1251 RTF document: non-ASCII letters as \\'hh, others as \\uN."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\par\n")
        elif ch in "\\{}":
            out.append("\\" + ch)
        elif ord(ch) < 128:
            out.append(ch)
        else:
            try:
                out.append("".join(f"\\'{b:02x}" for b in ch.encode("cp1251")))
            except UnicodeEncodeError:
                out.append(f"\\u{ord(ch)}?")
    body = "".join(out)
    head = "{\\rtf1\\ansi\\ansicpg1251\\deff0{\\fonttbl{\\f0\\froman\\fcharset204 Times New Roman;}}\\f0\\fs28\n"
    return (head + body + "\\par\n}").encode("ascii")


def html(text: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>\n" for line in text.split("\n") if line.strip())
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head>'
        f"<body>\n{paragraphs}</body></html>\n"
    )
    return page.encode("cp1251", "xmlcharrefreplace")


def main() -> None:
    decisions = [json.loads(line) for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    categories: dict[str, int] = {}
    documents = [dump_row(DOCUMENT_COLUMNS)]
    texts = OUT / "texts"
    if texts.exists():
        shutil.rmtree(texts)
    forms = {name: code for code, name in JUDGMENT_FORMS.items()}
    for number, row in enumerate(decisions):
        court = SUPREME.get(row["proceeding_kind"], row["court"]) if row["court"] == "Верховний Суд" else row["court"]
        code = COURTS[court][0]
        category = row.get("category")
        category_code = categories.setdefault(category, 40000 + len(categories) * 7) if category else None
        day = dt.date.fromisoformat(row["adjudication_date"])
        digest = hashlib.sha256(str(row["doc_id"]).encode()).hexdigest()[:32]
        relpath = f"files/{row['doc_id'] % 90 + 10}/{digest}.rtf"
        body = html(row["text"]) if number >= len(decisions) - HTML_PAGES else rtf(row["text"])
        (texts / relpath).parent.mkdir(parents=True, exist_ok=True)
        (texts / relpath).write_bytes(body)
        documents.append(
            dump_row(
                [
                    row["doc_id"],
                    code,
                    forms[row["judgment_form"]],
                    KIND_CODES[row["proceeding_kind"]],
                    category_code,
                    row["case_number"],
                    kyiv_timestamp(day),
                    kyiv_timestamp(day - dt.timedelta(days=30)),
                    row.get("judge"),
                    f"{TEXT_HOST}/{relpath}",
                    1,
                    kyiv_timestamp(day + dt.timedelta(days=3)),
                ]
            )
        )
    files = {
        "documents.csv": "".join(documents),
        "courts.csv": dump_row(["court_code", "name", "instance_code", "region_code"])
        + "".join(dump_row([c, name, i, r]) for name, (c, i, r) in COURTS.items()),
        "instances.csv": dump_row(["instance_code", "name"]) + "".join(dump_row([k, v]) for k, v in INSTANCES.items()),
        "regions.csv": dump_row(["region_code", "name"]) + "".join(dump_row([k, v]) for k, v in REGIONS.items()),
        "justice_kinds.csv": dump_row(["justice_kind", "name"])
        + "".join(dump_row([k, v]) for k, v in JUSTICE_KINDS.items()),
        "judgment_forms.csv": dump_row(["judgment_code", "name"])
        + "".join(dump_row([k, v]) for k, v in JUDGMENT_FORMS.items()),
        "cause_categories.csv": dump_row(["category_code", "name"])
        + "".join(dump_row([v, k]) for k, v in categories.items()),
    }
    with zipfile.ZipFile(OUT / ARCHIVE, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 20, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode("utf-8"))
    print(f"wrote {OUT / ARCHIVE}: {len(decisions)} decisions, {len(COURTS)} courts, {len(categories)} categories")


if __name__ == "__main__":
    main()
