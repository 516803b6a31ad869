"""Helpers for the Parliament tests: bills in the Rada's official full and light formats, written as a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REAL_DEPUTIES = Path(__file__).resolve().parent.parent / "app" / "demo" / "rada" / "mps-data-skl9.json"
CONCLUSION = {"kindId": 100, "kind": "Висновок Головного науково-експертного управління"}
# Deputies of the real 9th-convocation file, by person id.
STEFANCHUK = 21211
UNLOADED_PERSON = 99_999_123


def person(person_id: int, surname: str, firstname: str = "Іван", patronymic: str = "Іванович") -> dict[str, Any]:
    return {"surname": surname, "firstname": firstname, "patronymic": patronymic, "id": person_id}


def bill(bill_id: int, number: str, title: str, **overrides: Any) -> dict[str, Any]:
    """One element of billinfo-skl9.json (the full format)."""
    record: dict[str, Any] = {
        "id": bill_id,
        "name": title,
        "registrationNumber": number,
        "registrationDate": "2024-03-01",
        "registrationSession": "11 сесія",
        "registrationConvocation": "9",
        "subject": "Правова політика",
        "type": "Проект Закону",
        "rubric": "Цивільне право",
        "currentPhase": {"date": "2024-03-05", "title": "Надано для ознайомлення", "status": "на розгляді"},
        "url": f"https://itd.rada.gov.ua/billInfo/Bills/Card/{bill_id}",
        "initiators": [
            {"mp": {"person": person(STEFANCHUK, "Стефанчук", "Руслан", "Олексійович"), "post": "Народний депутат"}},
            {"mp": {"person": person(UNLOADED_PERSON, "Невідомий"), "post": "Народний депутат"}},
            {"official": {"person": None, "organization": "Кабінет Міністрів України"}},
        ],
        "mainExecutives": [{"department": "Комітет з питань правової політики", "person": None}],
        "executives": [{"department": "Комітет з питань бюджету", "person": None}],
        "passings": [
            {"date": "2024-03-01", "title": "Зареєстровано"},
            {"date": "2024-03-05", "title": "Надано для ознайомлення"},
        ],
        "source": [
            {
                "id": bill_id * 10,
                "kindId": 1,
                "kind": "Текст законопроекту",
                "registrationNum": number,
                "registrationDate": "2024-03-01",
                "docFiles": [{"url": f"https://itd.rada.gov.ua/billInfo/Bills/pubFile/{bill_id * 10}"}],
            }
        ],
        "workflow": [],
        "alternative": [],
        "bind": [],
    }
    record.update(overrides)
    return record


def light(record: dict[str, Any]) -> dict[str, Any]:
    """The same bill as billinfo_list-skl9.json carries it: the card and the current phase only."""
    keys = (
        "id",
        "name",
        "registrationNumber",
        "registrationDate",
        "registrationSession",
        "registrationConvocation",
        "subject",
        "type",
        "rubric",
        "currentPhase",
        "url",
    )
    return {k: record[k] for k in keys if k in record}


def write_array(path: Path, records: list[Any], *, tail: bytes = b"") -> Path:
    """A top-level JSON array, one element a line; `tail` is written raw after the last element (to break it)."""
    with path.open("wb") as out:
        out.write(b"[")
        for n, record in enumerate(records):
            out.write((b",\n" if n else b"\n") + json.dumps(record, ensure_ascii=False).encode())
        out.write(tail or b"\n]\n")
    return path
