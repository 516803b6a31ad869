"""Write the demo legislation mirror, app/demo/rada-laws/, in the layout of data.rada.gov.ua (DATA-FORMATS.md §2).

`make run`'s bootstrap loads it through the real importer (`secondlayer import rada-laws`), so the demo exercises
the same code as the publisher's files: doc.txt without a header in windows-1251 with its column order in
doc-stru.csv, doc-dates.txt, the dictionaries, card JSONs with their editions, and each edition's HTML.

The cards carry real registration numbers and titles so that citations resolve; the article texts are short
invented ones (the acts are flagged demo and `fetch` says so). The Civil Code has three editions in the past, in
which article 625 changes and article 16¹ appears, and one future edition; a small relations file (links.csv,
its columns in links-stru.csv, the kinds in vidnosh.txt) says which acts amended it.

    .venv/bin/python scripts/make_demo_rada_laws.py [OUTPUT_DIR]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "app" / "demo" / "rada-laws"
CSV = "ogd/zak/laws/data/csv"

# The order of doc.txt's columns, as doc-stru.csv declares it (deliberately not the order a reader might guess).
COLUMNS = [
    ("dokid", "N", "ідентифікатор документа"),
    ("nreg", "C", "реєстраційний номер"),
    ("status", "N", "стан (stan.txt)"),
    ("nazva", "C", "назва"),
    ("types", "C", "види (typ.txt), через |"),
    ("organs", "C", "видавник:дата:номер (org.txt), через |"),
    ("datred", "D", "дата поточної редакції"),
]
STAN = {
    0: "Не визначено",
    1: "Втратив чинність",
    2: "Набирає чинності",
    3: "Дію зупинено",
    4: "Дію відновлено",
    5: "Чинний",
    6: "Не набрав чинності",
    7: "Не застосовується на території України",
    8: "Частково набрав чинності",
    9: "Втратив чинність, крім окремих положень",
}
PODIA = {0: "Редакція", 1: "Набрання чинності", 2: "Зміни", 4: "Прийняття", 6: "Нова редакція"}
TYP = {1: "Закон", 21: "Кодекс", 3: "Постанова", 95: "Конституція", 124: "Документ"}
ORG = {1: "Верховна Рада України", 2: "Кабінет Міністрів України"}
# vidnosh.txt: a relation as the acting act reads it, and as the act acted upon reads it.
VIDNOSH = {
    1: ("Змінює документ", "Змінюється документом"),
    5: ("Роз'яснює", "Роз'яснюється"),
    22: ("Визнає нечинним", "Втрачає чинність"),
}
# links.csv: no header, its columns named by links-stru.csv (the acts by dokid, as the publisher's ids go).
LINK_COLUMNS = [
    ("dokid1", "N", "документ, що діє"),
    ("vidnosh", "N", "вид відношення (vidnosh.txt)"),
    ("dokid2", "N", "документ, на який діє"),
    ("datvid", "D", "дата відношення"),
]
LINKS = [(1006, 1, 1002, "20210302"), (1007, 1, 1002, "20220315"), (1010, 22, 1008, "20990101")]


def article(number: str, title: str, *parts: str) -> str:
    shown = number.replace("¹", "<sup>1</sup>")
    return f"<p>Стаття {shown}. {title}</p>\n" + "".join(f"<p>{p}</p>\n" for p in parts)


CIVIL_1 = [
    "<p>КНИГА ПЕРША</p><p>ЗАГАЛЬНІ ПОЛОЖЕННЯ</p>",
    "<p>РОЗДІЛ I</p><p>ОСНОВНІ ПОЛОЖЕННЯ</p>",
    "<p>Глава 1. Цивільне законодавство України</p>",
    article(
        "1",
        "Відносини, що регулюються цивільним законодавством",
        "1. Цивільним законодавством регулюються особисті немайнові та майнові відносини (цивільні відносини).",
    ),
    article(
        "3",
        "Загальні засади цивільного законодавства",
        "1. Загальними засадами цивільного законодавства є: "
        "неприпустимість свавільного втручання у сферу особистого життя людини; свобода договору; "
        "справедливість, добросовісність та розумність.",
    ),
    article(
        "16",
        "Захист цивільних прав та інтересів судом",
        "1. Кожна особа має право звернутися до суду за "
        "захистом свого особистого немайнового або майнового права та інтересу.",
        "2. Способами захисту цивільних прав та інтересів можуть бути: визнання права; визнання правочину "
        "недійсним; припинення дії, яка порушує право.",
    ),
    "<p>РОЗДІЛ IV</p><p>ПРАВОЧИНИ. ПРЕДСТАВНИЦТВО</p>",
    article(
        "256",
        "Поняття позовної давності",
        "1. Позовна давність - це строк, у межах якого особа може "
        "звернутися до суду з вимогою про захист свого цивільного права або інтересу.",
    ),
    article("257", "Загальна позовна давність", "1. Загальна позовна давність встановлюється тривалістю у три роки."),
    "<p>КНИГА П'ЯТА</p><p>ЗОБОВ'ЯЗАЛЬНЕ ПРАВО</p>",
    article(
        "549",
        "Поняття неустойки",
        "1. Неустойкою (штрафом, пенею) є грошова сума або інше майно, які боржник "
        "повинен передати кредиторові у разі порушення боржником зобов'язання.",
    ),
]
ART_625_1 = article(
    "625",
    "Відповідальність за порушення грошового зобов'язання",
    "1. Боржник не звільняється від відповідальності за неможливість виконання ним грошового зобов'язання.",
    "2. Боржник, який прострочив виконання грошового зобов'язання, на вимогу кредитора зобов'язаний сплатити суму "
    "боргу з урахуванням встановленого індексу інфляції за весь час прострочення, а також три проценти річних "
    "від простроченої суми, якщо інший розмір процентів не встановлений договором або законом.",
)
ART_625_2 = article(
    "625",
    "Відповідальність за порушення грошового зобов'язання",
    "1. Боржник не звільняється від відповідальності за неможливість виконання ним грошового зобов'язання.",
    "2. Боржник, який прострочив виконання грошового зобов'язання, на вимогу кредитора зобов'язаний сплатити суму "
    "боргу з урахуванням встановленого індексу інфляції за весь час прострочення, а також три проценти річних "
    "від простроченої суми, якщо інший розмір процентів не встановлений договором або законом.",
    "3. Положення частини другої цієї статті не застосовуються до зобов'язань, що виникли з кредитних "
    "договорів у період дії карантину.",
    "{Статтю 625 доповнено частиною третьою згідно із Законом № 1293-IX від 02.03.2021}",
)
ART_16_1 = article(
    "16¹",
    "Захист цивільних прав та інтересів у разі оголошення воєнного стану",
    "1. Під час дії воєнного стану строки позовної давності продовжуються на строк його дії.",
    "{Кодекс доповнено статтею 16¹ згідно із Законом № 2120-IX від 15.03.2022}",
)
ART_625_FUTURE = article(
    "625",
    "Відповідальність за порушення грошового зобов'язання",
    "1. Боржник не звільняється від відповідальності за неможливість виконання ним грошового зобов'язання.",
    "2. Боржник, який прострочив виконання грошового зобов'язання, сплачує суму боргу з урахуванням індексу "
    "інфляції та п'ять процентів річних (демонстраційна майбутня редакція).",
)


def civil(edition: int) -> str:
    parts = list(CIVIL_1)
    if edition == 3:  # added in 2022, dropped again by the future edition
        parts.insert(6, ART_16_1)
    parts.append({1: ART_625_1, 2: ART_625_2, 3: ART_625_2, 4: ART_625_FUTURE}[edition])
    return "".join(parts)


CONSTITUTION = "".join(
    [
        "<p>Розділ I</p><p>ЗАГАЛЬНІ ЗАСАДИ</p>",
        article("1", "", "Україна є суверенна і незалежна, демократична, соціальна, правова держава."),
        "<p>Розділ II</p><p>ПРАВА, СВОБОДИ ТА ОБОВ'ЯЗКИ ЛЮДИНИ І ГРОМАДЯНИНА</p>",
        article("41", "", "Кожен має право володіти, користуватися і розпоряджатися своєю власністю."),
        article("55", "", "Права і свободи людини і громадянина захищаються судом."),
    ]
)
CIVIL_PROCEDURE = "".join(
    [
        "<p>Розділ I</p><p>ЗАГАЛЬНІ ПОЛОЖЕННЯ</p>",
        article(
            "4",
            "Право на звернення до суду за захистом",
            "1. Кожна особа має право в порядку, "
            "встановленому цим Кодексом, звернутися до суду за захистом своїх порушених прав.",
        ),
        article(
            "16",
            "Загальні правила визначення юрисдикції",
            "1. Суди розглядають справи, що виникають з цивільних відносин.",
            "2. Суд вирішує справи у порядку позовного або наказного провадження.",
        ),
    ]
)
ADMIN_PROCEDURE = "".join(
    [
        "<p>Розділ II</p><p>ПОЗОВНЕ ПРОВАДЖЕННЯ</p>",
        article(
            "284",
            "Особливості провадження у справах з приводу рішень щодо притягнення до адміністративної відповідальності",
            "1. Позовну заяву може бути подано: 1) протягом десяти днів; 2) до "
            "місцевого загального суду; 3) з доданням копії постанови.",
        ),
    ]
)
FAMILY = "".join(
    [
        "<p>Розділ III</p><p>ПРАВА ТА ОБОВ'ЯЗКИ МАТЕРІ, БАТЬКА І ДИТИНИ</p>",
        "<p>Глава 15. Обов'язок батьків утримувати дітей</p>",
        article(
            "180",
            "Обов'язок батьків утримувати дитину",
            "1. Батьки зобов'язані утримувати дитину до досягнення нею повноліття.",
        ),
        article(
            "183",
            "Частка заробітку (доходу) матері, батька, яка стягується як аліменти на дитину",
            "1. Частка заробітку (доходу) матері, батька, яка буде стягуватися як аліменти на дитину, "
            "визначається судом.",
        ),
    ]
)
CONSUMERS = "".join(
    [
        article(
            "1",
            "Визначення термінів",
            "1. У цьому Законі терміни вживаються в такому значенні: споживач - "
            "фізична особа, яка придбаває, замовляє, використовує продукцію для особистих потреб.",
        ),
        article(
            "4",
            "Права споживачів",
            "1. Споживачі під час придбання продукції мають право на захист своїх прав державою.",
        ),
    ]
)

# nreg, dokid, status, title, types, organs, editions [(date, podid, cause, html)] or None (card only)
ACTS: list[tuple[str, int, int, str, str, str, list[tuple[str, int, str, str]] | None]] = [
    (
        "254к/96-вр",
        1001,
        5,
        "Конституція України",
        "95",
        "1:19960628:254к/96-ВР",
        [("19960628", 4, "", CONSTITUTION)],
    ),
    (
        "435-15",
        1002,
        5,
        "Цивільний кодекс України",
        "21|1",
        "1:20030116:435-IV",
        [
            ("20040101", 1, "", civil(1)),
            ("20210302", 0, "1293-20", civil(2)),
            ("20220315", 0, "2120-20", civil(3)),
            ("20990101", 0, "9999-20", civil(4)),
        ],
    ),
    (
        "1618-15",
        1003,
        5,
        "Цивільний процесуальний кодекс України",
        "21|1",
        "1:20040318:1618-IV",
        [("20050901", 1, "", CIVIL_PROCEDURE)],
    ),
    (
        "2747-15",
        1004,
        5,
        "Кодекс адміністративного судочинства України",
        "21|1",
        "1:20050706:2747-IV",
        [("20050901", 1, "", ADMIN_PROCEDURE)],
    ),
    (
        "2947-14",
        1011,
        5,
        "Сімейний кодекс України",
        "21|1",
        "1:20020110:2947-III",
        [("20040101", 1, "", FAMILY)],
    ),
    (
        "1023-12",
        1005,
        5,
        "Про захист прав споживачів",
        "1",
        "1:19910512:1023-XII",
        [("19910512", 4, "", CONSUMERS)],
    ),
    ("1293-20", 1006, 5, "Про внесення змін до Цивільного кодексу України", "1", "1:20210302:1293-IX", None),
    ("2120-20", 1007, 5, "Про внесення змін до деяких законодавчих актів України", "1", "1:20220315:2120-IX", None),
    ("9999-20", 1010, 2, "Про внесення змін до Цивільного кодексу України (майбутня)", "1", "1:20250101:9999-IX", None),
    ("1001-12", 1008, 1, "Про власність", "1", "1:19910207:697-XII", None),
    ("1099-2020-п", 1009, 5, "Про встановлення карантину", "3", "2:20201109:1099", None),
]


def html(title: str, body: str) -> bytes:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        f"<title>{title}</title></head><body><h1>{title}</h1>\n{body}</body></html>\n"
    )
    return page.replace("¹", "<sup>1</sup>").encode("cp1251")


def write(out: Path, relpath: str, data: bytes) -> None:
    path = out / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main(out: Path = OUT) -> None:
    if out.exists():
        shutil.rmtree(out)
    write(out, "ogd/zak/stru/doc-stru.csv", "".join(f"{n},{t},{d}\n" for n, t, d in COLUMNS).encode("cp1251"))
    for name, table in (("stan", STAN), ("podia", PODIA), ("typ", TYP), ("org", ORG)):
        write(out, f"{CSV}/{name}.txt", "".join(f"{k}\t{v}\n" for k, v in table.items()).encode("cp1251"))
    vidnosh = "".join(f"{k}\t{forward}\t{reverse}\n" for k, (forward, reverse) in VIDNOSH.items())
    write(out, f"{CSV}/vidnosh.txt", vidnosh.encode("cp1251"))
    write(out, "ogd/zak/stru/links-stru.csv", "".join(f"{n},{t},{d}\n" for n, t, d in LINK_COLUMNS).encode("cp1251"))
    write(out, f"{CSV}/links.csv", "".join("\t".join(map(str, link)) + "\r\n" for link in LINKS).encode("cp1251"))
    doc_lines, date_lines = [], []
    for nreg, dokid, status, title, types, organs, editions in ACTS:
        current = max((d for d, *_ in editions if d < "2090"), default="") if editions else ""
        values = {
            "dokid": str(dokid),
            "nreg": nreg,
            "status": str(status),
            "nazva": title,
            "types": types,
            "organs": organs,
            "datred": current,
        }
        doc_lines.append("\t".join(values[name] for name, _, _ in COLUMNS))
        date_lines.append(f"{organs.split(':')[1]}\t{nreg}\t4\t")
        for day, podid, cause, body in editions or []:
            date_lines.append(f"{day}\t{nreg}\t{podid}\t{cause}")
            write(out, f"laws/show/{nreg}/ed{day}", html(title, body))
        if editions:
            card = {
                "dokid": dokid,
                "nreg": nreg,
                "nazva": title,
                "status": status,
                "types": types,
                "organs": organs,
                "datred": current,
                "edcnt": len(editions),
                "eds": [
                    {"datred": day, "pidstava": cause, "podid": podid, "format": "html", "pages": 1, "size": len(body)}
                    for day, podid, cause, body in editions
                ],
            }
            write(out, f"laws/card/{nreg}.json", json.dumps(card, ensure_ascii=False, indent=1).encode())
    write(out, f"{CSV}/doc.txt", ("\r\n".join(doc_lines) + "\r\n").encode("cp1251"))
    write(out, f"{CSV}/doc-dates.txt", ("\r\n".join(date_lines) + "\r\n").encode("cp1251"))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}: {len(ACTS)} acts")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
