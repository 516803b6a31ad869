"""Generate bills in the Rada's official full format (`billinfo-skl{N}.json`: a top-level JSON array), for the
demo corpus and the import benchmark.

    .venv/bin/python scripts/make_demo_rada_bills.py                      # app/demo/rada/billinfo-skl9.json
    .venv/bin/python scripts/make_demo_rada_bills.py --count 50000 --out /tmp/billinfo-skl9.json

The demo file holds twenty invented bills (titles a lawyer would search for) whose initiators are real deputies
of the 9th convocation taken from app/demo/rada/mps-data-skl9.json, plus the Cabinet of Ministers and one
deputy who is not in that file (to show an unlinked initiator). `--count` adds generated bills after them. The
bills are invented: their ids start at 900000 and their URLs point at the card pages they would have.
"""

# ruff: noqa: E501  (the seed titles are kept whole, one a line)
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPUTIES = ROOT / "app" / "demo" / "rada" / "mps-data-skl9.json"
DEFAULT_OUT = ROOT / "app" / "demo" / "rada" / "billinfo-skl9.json"
FIRST_ID = 900_000
CARD = "https://itd.rada.gov.ua/billInfo/Bills/Card/{}"
FILE = "https://itd.rada.gov.ua/billInfo/Bills/pubFile/{}"
CONCLUSION_KIND = (100, "Висновок Головного науково-експертного управління")

# number, title, registration date, phase reached (index into PHASES), lead committee, initiators (deputy indexes
# into the deputies file, or "cabinet"), rubric
SEEDS: list[tuple[str, str, str, int, str, list[Any], str]] = [
    (
        "9001",
        "Про внесення змін до Цивільного процесуального кодексу України щодо електронного документообігу в судах",
        "2023-02-01",
        0,
        "правової політики",
        ["cabinet"],
        "Судоустрій",
    ),
    (
        "9014",
        "Про внесення змін до Податкового кодексу України щодо спрощення адміністрування податку на додану вартість для малого бізнесу",
        "2023-02-08",
        1,
        "фінансів, податкової та митної політики",
        [5, 13, 21],
        "Податкова політика",
    ),
    (
        "9027",
        "Про внесення змін до Кодексу законів про працю України щодо дистанційної роботи",
        "2023-02-15",
        2,
        "соціальної політики та захисту прав ветеранів",
        [3],
        "Соціальна політика",
    ),
    (
        "9033",
        "Про внесення змін до Сімейного кодексу України щодо посилення відповідальності за несплату аліментів",
        "2023-03-22",
        3,
        "правової політики",
        [12],
        "Цивільне право",
    ),
    ("9041", "Про захист персональних даних", "2023-03-02", 4, "цифрової трансформації", [17], "Інформаційна політика"),
    (
        "9048",
        "Про внесення змін до Кримінального кодексу України щодо відповідальності за шахрайство з використанням електронних платіжних засобів",
        "2023-03-09",
        5,
        "правоохоронної діяльності",
        ["cabinet"],
        "Кримінальне право",
    ),
    (
        "9055",
        "Про внесення змін до Закону України «Про доступ до публічної інформації» щодо відкритих даних",
        "2023-04-16",
        6,
        "цифрової трансформації",
        [2, 3],
        "Інформаційна політика",
    ),
    (
        "9062",
        "Про внесення змін до Кодексу України з процедур банкрутства щодо реструктуризації боргів фізичних осіб",
        "2023-04-23",
        7,
        "економічного розвитку",
        [14, 3, 8, 18],
        "Економічна політика",
    ),
    (
        "9070",
        "Про внесення змін до Кодексу України про адміністративні правопорушення щодо посилення відповідальності за керування у стані сп'яніння",
        "2023-04-03",
        0,
        "правоохоронної діяльності",
        [2, 27, 19, 4],
        "Адміністративне право",
    ),
    (
        "9077",
        "Про оренду землі сільськогосподарського призначення",
        "2023-05-10",
        1,
        "аграрної та земельної політики",
        [21, 19],
        "Аграрна політика",
    ),
    (
        "9083",
        "Про внесення змін до Закону України «Про захист прав споживачів» щодо онлайн-торгівлі",
        "2023-05-17",
        2,
        "економічного розвитку",
        ["cabinet"],
        "Економічна політика",
    ),
    (
        "9091",
        "Про внесення змін до Закону України «Про загальнообов'язкове державне пенсійне страхування» щодо перерахунку пенсій працюючим пенсіонерам",
        "2023-05-24",
        3,
        "соціальної політики та захисту прав ветеранів",
        [19],
        "Соціальна політика",
    ),
    (
        "9098",
        "Про медіацію в адміністративних спорах",
        "2023-06-04",
        4,
        "правової політики",
        [2, 8, 18, 28],
        "Судоустрій",
    ),
    (
        "9104",
        "Про внесення змін до Господарського процесуального кодексу України щодо розгляду малозначних справ",
        "2023-06-11",
        5,
        "правової політики",
        [10, 14],
        "Судоустрій",
    ),
    (
        "9112",
        "Про електронні довірчі послуги та цифрову ідентифікацію",
        "2023-06-18",
        6,
        "цифрової трансформації",
        [18, 4],
        "Інформаційна політика",
    ),
    (
        "9119",
        "Про внесення змін до Податкового кодексу України щодо оподаткування цифрових платформ",
        "2023-07-25",
        7,
        "фінансів, податкової та митної політики",
        ["cabinet"],
        "Податкова політика",
    ),
    ("9126", "Про освіту дорослих", "2023-07-05", 0, "освіти, науки та інновацій", [18, 27, 22], "Освіта"),
    (
        "9133",
        "Про внесення змін до Кримінального процесуального кодексу України щодо особливостей досудового розслідування в умовах воєнного стану",
        "2023-07-12",
        1,
        "правоохоронної діяльності",
        [4, 19],
        "Кримінальне право",
    ),
    (
        "9140-д",
        "Про внесення змін до Цивільного кодексу України щодо позовної давності у спорах про захист прав власності",
        "2023-08-19",
        2,
        "правової політики",
        [12, 4, "unknown"],
        "Цивільне право",
    ),
    (
        "9147",
        "Про внесення змін до Закону України «Про оренду державного та комунального майна» щодо пільг для ветеранського бізнесу",
        "2023-08-26",
        3,
        "соціальної політики та захисту прав ветеранів",
        [19],
        "Соціальна політика",
    ),
]
# The passage a bill goes through, in order; a bill has reached one of these (its current phase).
PHASES = [
    "Зареєстровано",
    "Надано для ознайомлення",
    "Опрацьовується в комітеті",
    "Прийнято в першому читанні",
    "Прийнято в цілому",
    "Підписано Президентом України",
    "Відкликано",
    "Повернуто ініціатору",
]
PASSAGE = PHASES[:6]
TOPICS = [
    ("Податкового кодексу України", "податку на нерухоме майно", "фінансів, податкової та митної політики"),
    ("Земельного кодексу України", "продажу земель державної власності", "аграрної та земельної політики"),
    ("Цивільного кодексу України", "спадкування за заповітом", "правової політики"),
    ("Кримінального кодексу України", "кіберзлочинів", "правоохоронної діяльності"),
    ("Закону України «Про освіту»", "інклюзивного навчання", "освіти, науки та інновацій"),
    ("Бюджетного кодексу України", "місцевих бюджетів", "бюджету"),
    ("Закону України «Про енергетику»", "відновлюваних джерел енергії", "енергетики та житлово-комунальних послуг"),
]


def _committee(name: str) -> str:
    return f"Комітет з питань {name}"


def _person(mp: dict[str, Any]) -> dict[str, Any]:
    return {k: mp[k] for k in ("surname", "firstname", "patronymic", "id")}


def _initiator(who: Any, mps: list[dict[str, Any]]) -> dict[str, Any]:
    if who == "cabinet":
        return {"official": {"person": None, "post": None, "organization": "Кабінет Міністрів України"}}
    if who == "unknown":
        person = {"surname": "Демченко", "firstname": "Олег", "patronymic": "Петрович", "id": 99_999_001}
        return {"mp": {"person": person, "post": "Народний депутат України", "organization": None}}
    return {"mp": {"person": _person(mps[who]), "post": "Народний депутат України", "organization": None}}


_HEADS: dict[str, dict[str, Any] | None] = {}


def _head(committee: str, mps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The deputy heading the committee, as the deputies file says."""
    if committee not in _HEADS:
        _HEADS[committee] = next(
            (
                m
                for m in mps
                for p in m.get("post_frs", [])
                if committee in (p.get("association_name") or "")
                and p.get("post_name", "").startswith("Голова Комітету")
            ),
            None,
        )
    return _HEADS[committee]


def bill(
    bill_id: int,
    number: str,
    title: str,
    registered: dt.date,
    reached: int,
    committee: str,
    initiators: list[Any],
    rubric: str,
    mps: list[dict[str, Any]],
) -> dict[str, Any]:
    """One bill as billinfo-skl9.json writes it."""
    steps = PASSAGE[: min(reached, len(PASSAGE) - 1) + 1] + ([PHASES[reached]] if reached >= len(PASSAGE) else [])
    passings = [
        {"date": (registered + dt.timedelta(days=9 * i)).isoformat(), "title": title_} for i, title_ in enumerate(steps)
    ]
    documents = [
        {
            "id": bill_id * 10 + 1,
            "kindId": 1,
            "kind": "Текст законопроекту",
            "registrationNum": number,
            "registrationDate": registered.isoformat(),
            "outcomingNum": None,
            "outcomingDate": None,
            "publishDate": registered.isoformat(),
            "meetingDate": None,
            "mainSpeaker": None,
            "docFiles": [{"url": FILE.format(bill_id * 10 + 1)}],
        }
    ]
    if reached >= 2:
        documents.append(
            {
                "id": bill_id * 10 + 2,
                "kindId": CONCLUSION_KIND[0],
                "kind": CONCLUSION_KIND[1],
                "registrationNum": f"16/3-{bill_id % 1000}",
                "registrationDate": (registered + dt.timedelta(days=14)).isoformat(),
                "outcomingNum": None,
                "outcomingDate": None,
                "publishDate": (registered + dt.timedelta(days=15)).isoformat(),
                "meetingDate": None,
                "mainSpeaker": None,
                "docFiles": [{"url": FILE.format(bill_id * 10 + 2)}],
            }
        )
    head = _head(committee, mps)
    return {
        "id": bill_id,
        "name": title,
        "registrationNumber": number,
        "registrationDate": registered.isoformat(),
        "registrationSession": "9 сесія",
        "registrationConvocation": "9",
        "subject": rubric,
        "type": "Проект Закону",
        "rubric": rubric,
        "currentPhase": {"date": passings[-1]["date"], "title": steps[-1], "status": steps[-1]},
        "url": CARD.format(bill_id),
        "initiators": [_initiator(w, mps) for w in initiators],
        "mainExecutives": [{"department": _committee(committee), "person": _person(head) if head else None}],
        "executives": [{"department": _committee("правової політики"), "person": None}]
        if committee != "правової політики"
        else [],
        "passings": passings,
        "source": documents[:1],
        "workflow": documents[1:],
        "alternative": [],
        "bind": [],
    }


def bills(count: int, seed: int = 9) -> Iterator[dict[str, Any]]:
    """The demo's twenty bills, then `count` generated ones."""
    mps = json.loads(DEPUTIES.read_text(encoding="utf-8"))["mps"]
    first = FIRST_ID
    demo = []
    for n, (number, title, registered, reached, committee, initiators, rubric) in enumerate(SEEDS):
        demo.append(
            bill(
                first + n, number, title, dt.date.fromisoformat(registered), reached, committee, initiators, rubric, mps
            )
        )
    # An alternative bill and a bound one, as the feed links them.
    main = demo[18]
    alternative = bill(
        first + len(SEEDS),
        "9140-д-1",
        "Про внесення змін до Цивільного кодексу України щодо позовної давності (альтернативний)",
        dt.date(2023, 8, 28),
        1,
        "правової політики",
        [4],
        "Цивільне право",
        mps,
    )
    main["alternative"] = [{k: alternative[k] for k in ("id", "registrationNumber", "name", "registrationDate", "url")}]
    alternative["alternative"] = [{k: main[k] for k in ("id", "registrationNumber", "name", "registrationDate", "url")}]
    demo[3]["bind"] = [{k: demo[0][k] for k in ("id", "registrationNumber", "name", "registrationDate", "url")}]
    yield from demo
    yield alternative
    rng = random.Random(seed)
    for n in range(count):
        code, subject, committee = rng.choice(TOPICS)
        bill_id = first + 1000 + n
        day = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(1400))
        authors = rng.sample(range(len(mps)), rng.randint(1, 4))
        yield bill(
            bill_id,
            str(10000 + n),
            f"Про внесення змін до {code} щодо {subject} (№{n})",
            day,
            rng.randrange(len(PHASES)),
            committee,
            authors,
            "Законодавство",
            mps,
        )


def write(path: Path, count: int) -> int:
    """Write the array one element a line (the publisher writes one long line; both are JSON)."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for item in bills(count):
            out.write(("," if written else "") + json.dumps(item, ensure_ascii=False) + "\n")
            written += 1
        out.write("]\n")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=0, help="generated bills after the demo's (default 0)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    written = write(args.out, args.count)
    print(f"wrote {written} bills to {args.out} ({args.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
