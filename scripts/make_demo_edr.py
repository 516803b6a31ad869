"""Generate an invented ЄДР dump in the official UO format (DATA/SUBJECT, windows-1251), for the demo and benchmarks.

    python scripts/make_demo_edr.py                          # app/demo/edr/UO_FULL_out.xml, 30 entities
    python scripts/make_demo_edr.py --count 1000000 --out /tmp/UO_FULL_out.xml

Every entity is invented (names drawn from short lists, codes with valid check digits); the same count and seed
give the same file. Entities found others (chains of ownership), some are wound up or bankrupt, some have a
predecessor. The file is written as a stream, so any count fits in constant memory.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.corpus.edrpou import check_digit

DEMO = Path(__file__).resolve().parent.parent / "app" / "demo" / "edr" / "UO_FULL_out.xml"
SURNAMES = (
    "Іваненко Петренко Коваленко Бондаренко Ткаченко Шевченко Кравченко Мельник Олійник Поліщук Савчук Гончар".split()
)
FIRST = "Іван Петро Олена Марія Андрій Оксана Тарас Наталія Богдан Ірина".split()
PATRONYMIC = {
    "m": "Іванович Петрович Андрійович Тарасович".split(),
    "f": "Іванівна Петрівна Андріївна Тарасівна".split(),
}
FEMALE = {"Олена", "Марія", "Оксана", "Наталія", "Ірина"}
WORDS = "Альфа Бета Гамма Дельта Карпати Дніпро Поділля Слобода Світанок Зоря Говерла Десна Рось Буг".split()
TRADES = ["АГРО", "БУД", "ТРАНС", "ІНВЕСТ", "ТОРГ", "СОФТ", "ЕНЕРГО", "МЕД"]
REGIONS = [
    ("01001", "м.Київ", "Шевченківський район"),
    ("79000", "Львівська обл.", "місто Львів"),
    ("49000", "Дніпропетровська обл.", "місто Дніпро"),
    ("65000", "Одеська обл.", "місто Одеса"),
    ("61000", "Харківська обл.", "місто Харків"),
    ("21000", "Вінницька обл.", "місто Вінниця"),
]
ACTIVITIES = [
    ("62.01", "Комп'ютерне програмування"),
    ("46.90", "Неспеціалізована оптова торгівля"),
    ("41.20", "Будівництво житлових і нежитлових будівель"),
    ("01.11", "Вирощування зернових культур"),
    ("49.41", "Вантажний автомобільний транспорт"),
    ("68.20", "Надання в оренду й експлуатацію власного чи орендованого нерухомого майна"),
]
STATES = ["зареєстровано"] * 8 + ["припинено", "в стані припинення", "порушено справу про банкрутство"]


def code(number: int) -> str:
    """The number-th invented EDRPOU code (from 30000000 up, so the weights 1..7 rule applies uniformly)."""
    first_seven = f"{3000000 + number:07d}"
    return first_seven + str(check_digit(first_seven))


# For large benchmark dumps: surnames built from two roots and an ending (some 25,000), so that a person's name
# matches about as many entities as in the real register rather than thousands.
ROOTS = (
    "Бонд Ковал Ткач Шевч Кравч Мельн Олій Поліщ Савч Гонч Петр Іван Марч Дмитр Гриц Лис Вовч Зай Сокол Білан".split()
)
MIDDLES = "а о е и у ар ор ер ан он ен ач ич ук юк ик ин ов ев ал".split()
ENDINGS = ["енко", "ук", "юк", "ич", "ський", "ецький", "чук", "ишин", "ів", "ак", "ко", "ан", "ин", "ий", "ов", "ер"]


def person(rng: random.Random, varied: bool = False) -> str:
    first = rng.choice(FIRST)
    patronymic = rng.choice(PATRONYMIC["f" if first in FEMALE else "m"])
    if varied:
        surname = rng.choice(ROOTS) + rng.choice(MIDDLES) + rng.choice(ROOTS).lower() + rng.choice(ENDINGS)
    else:
        surname = rng.choice(SURNAMES)
    return f"{surname} {first} {patronymic}".upper()


def address(rng: random.Random) -> str:
    postcode, region, city = rng.choice(REGIONS)
    return f"{postcode}, {region}, {city}, вулиця {rng.choice(WORDS)}, будинок {rng.randint(1, 120)}"


def company_name(number: int, rng: random.Random) -> str:
    return f"{rng.choice(WORDS).upper()}-{rng.choice(TRADES)} {number}"


def subject(number: int, rng: random.Random, names: list[str], varied: bool = False) -> str:
    """One SUBJECT element; `names` holds the names of the entities generated so far (founders are earlier)."""
    name = names[number]
    capital = rng.choice([1000, 10000, 50000, 100000])
    state = "порушено справу про банкрутство" if number % 13 == 12 else rng.choice(STATES)
    head = person(rng, varied)
    parts = [
        f"<NAME>ТОВАРИСТВО З ОБМЕЖЕНОЮ ВІДПОВІДАЛЬНІСТЮ «{escape(name)}»</NAME>",
        f"<SHORT_NAME>ТОВ «{escape(name)}»</SHORT_NAME>",
        "<OPF>Товариство з обмеженою відповідальністю</OPF>",
        f"<EDRPOU>{code(number)}</EDRPOU>",
        f"<ADDRESS>{escape(address(rng))}</ADDRESS>",
        f"<STAN>{state}</STAN>",
        f"<REGISTRATION>{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.{rng.randint(1995, 2024)}; "
        f"1 070 102 0000 {number:06d}</REGISTRATION>",
        f"<AUTHORIZED_CAPITAL>{capital},00</AUTHORIZED_CAPITAL>",
        "<SIGNERS>",
        f"<SIGNER>{head} - керівник</SIGNER>",
    ]
    if rng.random() < 0.4:
        parts.append(f"<SIGNER>{person(rng, varied)} - підписант</SIGNER>")
    parts.append("</SIGNERS><FOUNDERS>")
    owner = person(rng, varied) if rng.random() < 0.5 else head
    if number > 0 and rng.random() < 0.6:
        parent = rng.randrange(max(0, number - 50), number)
        parts.append(
            f"<FOUNDER>ТОВ «{escape(names[parent])}», {code(parent)}, {escape(address(rng))}, "
            f"розмір частки - {capital // 2},00 грн.</FOUNDER>"
        )
        parts.append(
            f"<FOUNDER>{owner}, {escape(address(rng))}, розмір частки - {capital - capital // 2},00 грн.</FOUNDER>"
        )
    else:
        parts.append(f"<FOUNDER>{owner}, {escape(address(rng))}, розмір частки - {capital},00 грн.</FOUNDER>")
    parts.append(
        "</FOUNDERS><BENEFICIARIES><BENEFICIARY>КІНЦЕВИЙ БЕНЕФІЦІАРНИЙ ВЛАСНИК (КОНТРОЛЕР) - "
        f"{owner}, Україна, {escape(address(rng))}, тип бенефіціарного володіння: Прямий вирішальний вплив"
        "</BENEFICIARY></BENEFICIARIES>"
    )
    primary, other = rng.sample(ACTIVITIES, 2)
    parts.append(
        "<ACTIVITY_KINDS>"
        f"<ACTIVITY_KIND><CODE>{primary[0]}</CODE><NAME>{primary[1]}</NAME><PRIMARY>так</PRIMARY></ACTIVITY_KIND>"
        f"<ACTIVITY_KIND><CODE>{other[0]}</CODE><NAME>{other[1]}</NAME><PRIMARY>ні</PRIMARY></ACTIVITY_KIND>"
        "</ACTIVITY_KINDS>"
    )
    if number % 10 == 9 or (number > 1 and rng.random() < 0.1):
        previous = rng.randrange(max(0, number - 50), number)
        parts.append(
            f"<PREDECESSORS><PREDECESSOR><NAME>ТОВ «{escape(names[previous])}»</NAME><CODE>{code(previous)}</CODE>"
            "</PREDECESSOR></PREDECESSORS>"
        )
    if state == "в стані припинення":
        parts.append(
            "<TERMINATION_STARTED_INFO><OP_DATE>01.02.2024</OP_DATE><REASON>Рішення засновників</REASON>"
            f"<SBJ_STATE>{state}</SBJ_STATE><SIGNER_NAME>{head}</SIGNER_NAME>"
            "<CREDITOR_REQ_END_DATE>01.04.2024</CREDITOR_REQ_END_DATE></TERMINATION_STARTED_INFO>"
        )
    if state == "порушено справу про банкрутство":
        parts.append(
            "<BANKRUPTCY_READJUSTMENT_INFO><OP_DATE>15.05.2023</OP_DATE><REASON>Ухвала господарського суду</REASON>"
            f"<SBJ_STATE>{state}</SBJ_STATE><BANKRUPTCY_READJUSTMENT_HEAD_NAME>{person(rng, varied)}"
            "</BANKRUPTCY_READJUSTMENT_HEAD_NAME></BANKRUPTCY_READJUSTMENT_INFO>"
        )
    parts.append(
        "<EXCHANGE_DATA><EXCHANGE_ANSWER><TAX_PAYER_TYPE>платник податку на додану вартість</TAX_PAYER_TYPE>"
        f"<START_DATE>01.01.2015</START_DATE><START_NUM>{number:010d}</START_NUM></EXCHANGE_ANSWER></EXCHANGE_DATA>"
    )
    return "<SUBJECT>" + "".join(parts) + "</SUBJECT>\n"


def dump(count: int, seed: int = 17, *, varied: bool = False) -> Iterator[str]:
    rng = random.Random(seed)
    names: list[str] = []
    yield '<?xml version="1.0" encoding="windows-1251"?>\n<DATA FORMAT_VERSION="1.0">\n'
    for number in range(count):
        names.append(company_name(number, rng))
        yield subject(number, rng, names, varied)
        if len(names) > 100:  # founders are drawn from the last 50: keep memory flat for large counts
            names[number - 100] = ""
    yield "</DATA>\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=DEMO)
    parser.add_argument("--varied-names", action="store_true", help="many distinct surnames (benchmark dumps)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="windows-1251", newline="\n") as out:
        for chunk in dump(args.count, args.seed, varied=args.varied_names):
            out.write(chunk)
    print(f"wrote {args.count} entities to {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
