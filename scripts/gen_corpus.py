"""Generate a synthetic corpus of court decisions (default 100,000) into a database, for the search benchmark.

    .venv/bin/python scripts/gen_corpus.py [--count N] [--replace]

The database is DATABASE_URL when set, else an embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench
(./var/bench), kept between runs so the benchmark can be repeated without regenerating. The texts are
assembled at random from invented sentences about a dozen kinds of disputes: shaped like registry
decisions (2-4 KB each), not real ones, and marked demo.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST_DOC_ID = 200_000_000
SURNAMES = [
    "Коваленко",
    "Мельничук",
    "Бондар",
    "Ткаченко",
    "Кравчук",
    "Олійник",
    "Шевчук",
    "Поліщук",
    "Лисенко",
    "Гнатюк",
    "Савчук",
    "Марченко",
    "Руденко",
    "Левченко",
    "Дорошенко",
    "Зінченко",
    "Гордієнко",
    "Яремчук",
    "Мороз",
    "Петренко",
    "Власенко",
    "Тимошенко",
    "Литвин",
    "Білик",
    "Остапчук",
    "Пономаренко",
]
INITIALS = "АБВГДЄІКЛМНОПРСТЮЯ"
COMPANY_WORDS = [
    "Агро",
    "Буд",
    "Метал",
    "Фарм",
    "Логістик",
    "Енерго",
    "Транс",
    "Торг",
    "Інвест",
    "Сервіс",
    "Дніпро",
    "Карпат",
    "Поділля",
    "Слобожан",
    "Схід",
    "Захід",
    "Тех",
    "Альфа",
    "Вектор",
    "Граніт",
    "Оріон",
]
LOCAL_COURTS = [
    "Печерський районний суд міста Києва",
    "Шевченківський районний суд міста Києва",
    "Дніпровський районний суд міста Києва",
    "Солом'янський районний суд міста Києва",
    "Оболонський районний суд міста Києва",
    "Галицький районний суд міста Львова",
    "Приморський районний суд міста Одеси",
    "Київський районний суд міста Харкова",
    "Центральний районний суд міста Дніпра",
    "Вінницький міський суд Вінницької області",
]
COMMERCIAL_COURTS = [
    "Господарський суд міста Києва",
    "Господарський суд Львівської області",
    "Господарський суд Харківської області",
    "Господарський суд Дніпропетровської області",
    "Господарський суд Одеської області",
]
ADMIN_COURTS = [
    "Львівський окружний адміністративний суд",
    "Харківський окружний адміністративний суд",
    "Одеський окружний адміністративний суд",
    "Київський окружний адміністративний суд",
]
APPEAL = {
    "civil": "Київський апеляційний суд",
    "criminal": "Львівський апеляційний суд",
    "commercial": "Північний апеляційний господарський суд",
    "administrative": "Восьмий апеляційний адміністративний суд",
    "administrative_offense": "Київський апеляційний суд",
}

# kind, category, courts, case-number prefix by court index, forms, subject sentences
TOPICS = [
    (
        "commercial",
        "Господарські справи; поставки товарів",
        COMMERCIAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Позивач поставив відповідачеві товар за договором поставки, проте оплату поставленого товару не отримав.",
            "Заборгованість за договором поставки підтверджується видатковими накладними та актом звірки.",
            "Відповідно до статті 712 Цивільного кодексу України покупець зобов'язаний прийняти товар "
            "і сплатити за нього.",
            "Позивач просить стягнути основний борг, пеню, інфляційні втрати та три проценти річних.",
            "Суд перевірив розрахунок пені за прострочення оплати поставленого товару.",
        ],
    ),
    (
        "commercial",
        "Господарські справи; оренди",
        COMMERCIAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Орендар не вносив орендну плату за користування нежитловим приміщенням понад три місяці поспіль.",
            "Орендодавець вимагає розірвати договір оренди та виселити орендаря з приміщення.",
            "Відповідно до статті 762 Цивільного кодексу України за користування майном справляється плата.",
            "Суд встановив розмір заборгованості з орендної плати на підставі актів приймання-передачі.",
        ],
    ),
    (
        "commercial",
        "Господарські справи; Справи про банкрутство",
        COMMERCIAL_COURTS,
        ["Ухвала", "Постанова"],
        [
            "Ініціюючий кредитор звернувся із заявою про відкриття провадження у справі про банкрутство боржника.",
            "Суд вводить мораторій на задоволення вимог кредиторів та призначає розпорядника майна.",
            "Арбітражний керуючий подав звіт про інвентаризацію майна боржника.",
            "Кредитори затвердили план санації боржника на зборах кредиторів.",
        ],
    ),
    (
        "commercial",
        "Господарські справи; підряду",
        COMMERCIAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Підрядник порушив строки виконання робіт за договором підряду.",
            "Замовник вимагає стягнення штрафних санкцій за прострочення виконання будівельних робіт.",
            "Акти приймання виконаних робіт підписано з зауваженнями щодо якості.",
        ],
    ),
    (
        "civil",
        "Цивільні справи; про поновлення на роботі",
        LOCAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Позивача звільнено у зв'язку зі скороченням штату без пропозиції вакантних посад.",
            "Позивач просить поновити його на роботі та стягнути середній заробіток за час вимушеного прогулу.",
            "Відповідно до статті 235 КЗпП України незаконно звільнений працівник підлягає поновленню на роботі.",
            "Роботодавець не отримав згоди профспілкової організації на звільнення працівника.",
        ],
    ),
    (
        "civil",
        "Цивільні справи; про стягнення аліментів",
        LOCAL_COURTS,
        ["Рішення"],
        [
            "Позивачка просить стягнути аліменти на утримання неповнолітньої дитини.",
            "Відповідач матеріальної допомоги на утримання дитини не надає.",
            "Суд визначає розмір аліментів у частці від заробітку відповідача, але не менше прожиткового мінімуму.",
        ],
    ),
    (
        "civil",
        "Цивільні справи; про розірвання шлюбу",
        LOCAL_COURTS,
        ["Рішення"],
        [
            "Сторони тривалий час проживають окремо і не ведуть спільного господарства.",
            "Позивач просить розірвати шлюб, оскільки подальше спільне життя неможливе.",
            "Суд не вбачає підстав для надання строку на примирення подружжя.",
        ],
    ),
    (
        "civil",
        "Цивільні справи; Спори про захист прав споживачів",
        LOCAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Споживач придбав товар, у якому протягом гарантійного строку виявлено істотний недолік.",
            "Продавець відмовився повернути кошти за неякісний товар.",
            "Відповідно до Закону України «Про захист прав споживачів» споживач має право на розірвання договору.",
        ],
    ),
    (
        "civil",
        "Цивільні справи; відшкодування шкоди внаслідок ДТП",
        LOCAL_COURTS,
        ["Рішення", "Постанова"],
        [
            "Внаслідок дорожньо-транспортної пригоди автомобіль позивача отримав механічні пошкодження.",
            "Страховик виплатив страхове відшкодування не в повному обсязі.",
            "Позивач просить відшкодувати матеріальну та моральну шкоду, завдану внаслідок ДТП.",
        ],
    ),
    (
        "criminal",
        "Кримінальні справи; Крадіжка",
        LOCAL_COURTS,
        ["Вирок", "Ухвала"],
        [
            "Обвинувачений таємно викрав чуже майно, вчинивши крадіжку.",
            "Обвинувачений вину у вчиненні крадіжки визнав повністю та щиро розкаявся.",
            "Суд призначає покарання у виді позбавлення волі зі звільненням від відбування покарання з випробуванням.",
        ],
    ),
    (
        "criminal",
        "Кримінальні справи; Шахрайство",
        LOCAL_COURTS,
        ["Вирок", "Ухвала"],
        [
            "Обвинувачений шляхом обману заволодів коштами потерпілих, вчинивши шахрайство.",
            "Потерпілі перерахували передоплату за товар, який обвинувачений не мав наміру продавати.",
        ],
    ),
    (
        "administrative_offense",
        "Справи про адміністративні правопорушення; керування у стані сп'яніння",
        LOCAL_COURTS,
        ["Постанова"],
        [
            "Особа керувала транспортним засобом у стані алкогольного сп'яніння.",
            "Огляд на стан сп'яніння проведено за допомогою спеціального технічного засобу.",
            "Суд накладає штраф з позбавленням права керування транспортними засобами строком на один рік.",
        ],
    ),
    (
        "administrative",
        "Адміністративні справи; податкові повідомлення-рішення",
        ADMIN_COURTS,
        ["Рішення", "Постанова"],
        [
            "Позивач просить визнати протиправним та скасувати податкове повідомлення-рішення.",
            "Контролюючий орган дійшов висновку про нереальність господарських операцій з контрагентом.",
            "Первинні документи підтверджують реальність господарських операцій позивача.",
        ],
    ),
    (
        "administrative",
        "Адміністративні справи; пенсійного забезпечення",
        ADMIN_COURTS,
        ["Рішення"],
        [
            "Пенсійний фонд відмовив позивачеві у перерахунку пенсії.",
            "Позивач просить зобов'язати відповідача здійснити перерахунок пенсії з урахуванням страхового стажу.",
        ],
    ),
    (
        "administrative",
        "Адміністративні справи; доступу до публічної інформації",
        ADMIN_COURTS,
        ["Рішення"],
        [
            "Розпорядник інформації не надав відповіді на запит на публічну інформацію у встановлений строк.",
            "Інформація про використання бюджетних коштів не може бути віднесена до інформації з обмеженим доступом.",
        ],
    ),
]
GENERIC = [
    "Сторони були належним чином повідомлені про дату, час і місце розгляду справи.",
    "Суд дослідив письмові докази, наявні в матеріалах справи, та заслухав пояснення представників сторін.",
    "Кожна сторона повинна довести ті обставини, на які вона посилається як на підставу своїх вимог.",
    "Відповідач відзиву на позовну заяву не подав, клопотань про відкладення розгляду справи не заявляв.",
    "Суд враховує правові висновки Верховного Суду щодо застосування норм права у подібних правовідносинах.",
    "Судові витрати розподіляються між сторонами пропорційно розміру задоволених вимог.",
    "Рішення може бути оскаржене в апеляційному порядку протягом строку, встановленого процесуальним законом.",
    "Представник позивача в судовому засіданні позовні вимоги підтримав у повному обсязі.",
    "Суд відхиляє доводи відповідача як такі, що не підтверджені належними та допустимими доказами.",
    "Оцінивши докази у їх сукупності, суд дійшов висновку про обґрунтованість заявлених вимог.",
    "Згідно з принципом змагальності сторін суд сприяє сторонам у реалізації їхніх процесуальних прав.",
    "Відповідно до статті 6 Конвенції про захист прав людини і основоположних свобод кожен має право на "
    "справедливий суд.",
]
CASE_PREFIX = {"commercial": ["910", "914", "922", "904", "916"], "administrative": ["380", "520", "420", "320"]}
LOCAL_PREFIX = ["757", "761", "755", "760", "756", "461", "522", "953", "201", "127"]
SUFFIX = {"civil": "-ц", "criminal": "-к", "administrative_offense": "-п"}


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(INITIALS)}.{rng.choice(INITIALS)}."


def _company(rng: random.Random) -> str:
    return f"ТОВ «{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_WORDS).lower()} {rng.randint(1, 99)}»"


# One court_decisions row, in COLUMNS order.
DecisionRow = tuple[int, str, str, str, str, str, str, str, str, str, bool]


def decision(rng: random.Random, doc_id: int) -> DecisionRow:
    """One synthetic decision as a row of court_decisions columns."""
    kind, category, courts, forms, subject = rng.choice(TOPICS)
    court_index = rng.randrange(len(courts))
    year = rng.choice([2019, 2020, 2021, 2022, 2023, 2024])
    if kind in CASE_PREFIX:
        case = f"{CASE_PREFIX[kind][court_index % len(CASE_PREFIX[kind])]}/{rng.randint(100, 29999)}/{year % 100:02d}"
    else:
        case = f"{LOCAL_PREFIX[court_index % len(LOCAL_PREFIX)]}/{rng.randint(100, 49999)}/{year % 100:02d}"
        case += SUFFIX.get(kind, "")
    appeal = rng.random() < 0.25
    court = APPEAL[kind] if appeal else courts[court_index]
    form = forms[-1] if appeal and len(forms) > 1 else forms[0]
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    parties = f"за позовом {_company(rng) if kind != 'criminal' else 'прокурора'} до {_company(rng)}"
    sentences = rng.sample(subject, min(len(subject), rng.randint(2, 4))) * rng.randint(1, 2)
    sentences += rng.sample(GENERIC, rng.randint(4, 8))
    rng.shuffle(sentences)
    amount = f"{rng.randint(1000, 9_999_999):,}".replace(",", " ")
    body = "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    text = (
        f"{form.upper()}\nІМЕНЕМ УКРАЇНИ\n\n{court} розглянув справу № {case} {parties}.\n\n{body}\n\n"
        f"Сума спору становить {amount} грн. Керуючись статтями {rng.randint(2, 380)}, {rng.randint(2, 380)} "
        f"процесуального кодексу, суд вирішив позов задовольнити {rng.choice(['повністю', 'частково'])}.\n"
        f"Суддя {_person(rng)}"
    )
    url = f"https://demo.secondlayer.example/court/{doc_id}"
    return (doc_id, case, court, _person(rng), form, kind, category, date, text, url, True)


COLUMNS = (
    "doc_id",
    "case_number",
    "court",
    "judge",
    "judgment_form",
    "proceeding_kind",
    "category",
    "adjudication_date",
    "full_text",
    "source_url",
    "demo",
)


def rows(count: int, seed: int = 1) -> Iterator[DecisionRow]:
    rng = random.Random(seed)
    for i in range(count):
        yield decision(rng, FIRST_DOC_ID + i)


@contextlib.contextmanager
def bench_database() -> Iterator[str]:
    """DATABASE_URL, or the embedded PostgreSQL under $SECONDLAYER_DATA_DIR/bench, migrated to head."""
    from app.db.schema import upgrade

    url = os.environ.get("DATABASE_URL")
    embedded = None
    if not url:
        from app.db.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(Path(os.environ.get("SECONDLAYER_DATA_DIR", ROOT / "var")) / "bench")
        url = embedded.start()
    try:
        upgrade(url)
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


def generate(url: str, count: int, *, replace: bool = False, chunk: int = 5000) -> int:
    """Insert `count` synthetic decisions with COPY; returns how many were written (0 if already there)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM court_decisions WHERE doc_id >= %s", (FIRST_DOC_ID,))
            (existing,) = cur.fetchone() or (0,)
            if existing == count and not replace:
                return 0
            cur.execute("DELETE FROM court_decisions WHERE doc_id >= %s", (FIRST_DOC_ID,))
            started = time.monotonic()
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for n, row in enumerate(rows(count), start=1):
                writer.writerow(row)
                if n % chunk == 0 or n == count:
                    buffer.seek(0)
                    cur.copy_expert(f"COPY court_decisions ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer)
                    buffer.seek(0)
                    buffer.truncate()
                    rate = n / max(time.monotonic() - started, 1e-6)
                    print(f"\rgenerated {n:,}/{count:,} decisions ({rate:,.0f}/s)", end="", file=sys.stderr)
            print(file=sys.stderr)
        conn.commit()
        with conn.cursor() as cur:
            conn.autocommit = True
            cur.execute("VACUUM ANALYZE court_decisions")
        return count
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--replace", action="store_true", help="regenerate even if the corpus is there")
    args = parser.parse_args()
    with bench_database() as url:
        started = time.monotonic()
        written = generate(url, args.count, replace=args.replace)
        if written:
            print(f"wrote {written:,} decisions in {time.monotonic() - started:.0f} s")
        else:
            print(f"{args.count:,} generated decisions are there already (use --replace to regenerate)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
