"""The ЄДРСР dump as published: tab-separated files with quoting, local timestamps, text court codes; bad rows
named with their line and reason; the decision texts' RTF (windows-1251) and HTML-named-RTF files."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

from app.corpus.edrsr import format as fmt
from app.corpus.edrsr.texts import convert, relative_path
from tests.helpers_edrsr import document, documents_csv, rtf

COURTS = {"0713", "910"}


def _read(data: bytes) -> list[tuple[int, fmt.Document | str]]:
    return list(fmt.read_documents(io.BytesIO(data), COURTS))


def test_the_published_row_reads_as_written():
    data = (
        "doc_id\tcourt_code\tjudgment_code\tjustice_kind\tcategory_code\tcause_num\tadjudication_date\t"
        "receipt_date\tjudge\tdoc_url\tstatus\tdate_publ\n"
        '86740127\t"0713"\t2\t5\t41080\t"309/3690/19"\t"2019-12-24 00:00:00+02"\t"2020-01-01 00:00:00+02"\t'
        '"Довжанин М. М."\t"http://od.reyestr.court.gov.ua/files/43/fac178.rtf"\t1\t"2020-01-02 00:00:00+02"\n'
    ).encode()
    [(line, doc)] = _read(data)
    assert line == 2 and isinstance(doc, fmt.Document)
    assert doc.court_code == "0713"  # text: the leading zero stays
    assert doc.adjudication_date == dt.date(2019, 12, 24)  # the local date, not the UTC one (23rd)
    assert doc.judge == "Довжанин М. М." and doc.cause_num == "309/3690/19"
    assert (doc.judgment_code, doc.justice_kind, doc.category_code, doc.status) == (2, 5, 41080, 1)


def test_summer_offset_and_empty_fields():
    doc = dict(
        _read(documents_csv([document(1, adjudication_date=dt.date(2023, 7, 1), doc_url=None, judge=None)]).encode())
    )[2]
    assert isinstance(doc, fmt.Document)
    assert doc.adjudication_date == dt.date(2023, 7, 1) and doc.doc_url is None and doc.judge is None
    assert fmt.kyiv_timestamp(dt.date(2023, 7, 1)).endswith("+03")
    assert fmt.kyiv_timestamp(dt.date(2023, 12, 1)).endswith("+02")


def test_columns_are_found_by_header_name():
    csv = documents_csv([document(5)])
    header, row = csv.splitlines()
    order = list(reversed(range(12)))
    swapped = "\t".join(header.split("\t")[i] for i in order) + "\n" + "\t".join(row.split("\t")[i] for i in order)
    [(_, doc)] = _read(swapped.encode())
    assert isinstance(doc, fmt.Document) and doc.doc_id == 5 and doc.court_code == "910"


def test_bad_rows_are_named_by_line_with_their_reason():
    good = documents_csv([document(1), document(2)]).encode()
    header, first, second = good.splitlines()
    rows = [
        first,
        b'3\t"910"\t3',  # wrong number of fields
        second.replace(b'"910"', b'"9999"'),  # unknown court
        second.replace(b'"2023-07-12 00:00:00+03"', b'"0000-00-00 00:00:00+02"'),  # impossible date
        second.replace("Довжанин".encode(), "Довжанин".encode("cp1251")),  # not UTF-8
        second.replace(b"\t3\t3\t", b"\tthree\t3\t", 1),
    ]
    read: dict[int, Any] = dict(_read(b"\n".join([header, *rows]) + b"\n"))
    assert isinstance(read[2], fmt.Document)
    assert read[3] == "has 3 fields, the header has 12"
    assert "unknown court code '9999'" in read[4]
    assert "adjudication_date: impossible date" in read[5]
    assert "not UTF-8" in read[6]
    assert "judgment_code: not a number" in read[7]


def test_dictionaries_and_a_missing_column():
    data = 'court_code\tname\tinstance_code\tregion_code\n"0713"\t"Бориславський міський суд"\t3\t13\n\t""\t3\t1\n'
    dictionary = fmt.read_dictionary(io.BytesIO(data.encode()), "courts.csv")
    assert dictionary.rows == {"0713": {"name": "Бориславський міський суд", "instance_code": "3", "region_code": "13"}}
    assert [line for line, _ in dictionary.problems] == [3]
    with pytest.raises(fmt.FormatError, match="lacks the column"):
        list(fmt.read_documents(io.BytesIO(b"doc_id\tcourt_code\n1\t910\n"), COURTS))


def test_a_dictionary_name_encoded_twice_is_read_back():
    # Published judgment_forms.csv files have carried the UTF-8 bytes of "Вирок" read as windows-1251 and saved
    # again as UTF-8; real names (Cyrillic, Latin, digits) are left exactly as they are.
    twice = "Вирок".encode().decode("cp1251")
    assert twice == "Р’РёСЂРѕРє"
    data = f'judgment_code\tname\n1\t"{twice}"\n2\t"Постанова"\n3\t"Рішення"\n4\t"ВІННИЦЬКИЙ"\n5\t"Form 5"\n'
    dictionary = fmt.read_dictionary(io.BytesIO(data.encode()), "judgment_forms.csv")
    names = {code: row["name"] for code, row in dictionary.rows.items()}
    assert names == {"1": "Вирок", "2": "Постанова", "3": "Рішення", "4": "ВІННИЦЬКИЙ", "5": "Form 5"}
    assert fmt.repaired("Р") == "Р" and fmt.repaired("") == ""


def test_rtf_in_windows_1251_becomes_text():
    text, kind = convert(rtf("РІШЕННЯ\nІМЕНЕМ УКРАЇНИ\nстягнення заборгованості, ґрунт"))
    assert kind == "rtf"
    assert text.splitlines() == ["РІШЕННЯ", "ІМЕНЕМ УКРАЇНИ", "стягнення заборгованості, ґрунт"]


def test_an_rtf_that_is_really_html_is_read_as_html():
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<style>p {}</style></head><body><p>ПОСТАНОВА</p><p>Суд &laquo;вирішив&raquo;</p></body></html>"
    ).encode("cp1251")
    text, kind = convert(page)
    assert kind == "html" and text.splitlines() == ["ПОСТАНОВА", "", "Суд «вирішив»"]


def test_plain_text_and_relative_paths():
    assert convert("Ухвала".encode("cp1251")) == ("Ухвала", "text")
    assert relative_path("http://od.reyestr.court.gov.ua/files/43/fac178.rtf") == "files/43/fac178.rtf"
