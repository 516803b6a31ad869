"""The ЄДР XML dumps as a stream of `Entity` records (DATA-FORMATS.md §4).

One element under the root `DATA` is one entity: `SUBJECT` in the current dumps (UO, FOP, FSU), `RECORD` in the
legacy 2016-18 ones (15.1 UO, 15.2 FOP). The XML prolog names the encoding (windows-1251 or UTF-8) and lxml
honours it. Elements are cleared as soon as they are read, so memory does not grow with the file. An element
that cannot be kept raises `ElementError`; oddities that do not stop it being kept (an unknown status word) are
listed in `Entity.warnings`.

Individual entrepreneurs are published without an EDRPOU code (they are private persons). Their stable id is
`fop-` and the first 20 hex digits of the SHA-256 of their folded name and registration text ("DD.MM.YYYY;
number"), or of name and address in legacy dumps that have no registration: both stay the same from one dump to
the next, and the register gives a person one registration record per registration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lxml import etree

from app.corpus.edrpou import EdrpouError, validate_edrpou
from app.corpus.text import fold

KINDS = ("uo", "fop", "fsu")
KIND_LABELS = {"uo": "юридична особа", "fop": "фізична особа-підприємець", "fsu": "громадське формування"}

# The status words as the dumps write them, and the code a filter uses.
STATUSES = {
    "зареєстровано": "registered",
    "зареєстровано, свідоцтво про державну реєстрацію недійсне": "registered",
    "припинено": "terminated",
    "в стані припинення": "terminating",
    "порушено справу про банкрутство": "bankruptcy",
    "порушено справу про банкрутство (санація)": "bankruptcy",
    "скасовано": "cancelled",
    "зареєстровано (зміна місцезнаходження)": "registered",
}
STATUS_CODES = ("registered", "terminating", "terminated", "bankruptcy", "cancelled", "unknown")

MAX_TEXT = 20000  # characters kept of one text element; longer ones are cut (and said so)

_EIGHT_DIGITS = re.compile(r"(?<![0-9])[0-9]{8}(?![0-9])")
_SHARE = re.compile(r"розмір\s(?:частки|внеску)[^0-9-–—:]{0,40}[-–—:]\s?([0-9][0-9 \u00a0]{0,20}(?:[,.][0-9]{1,4})?)")
_DATE = re.compile(r"([0-9]{2})\.([0-9]{2})\.([0-9]{4})")
_BENEFICIARY_PREFIX = re.compile(
    r"^\s?(?:кінцевий\s)?бенефіціарний\sвласник(?:\s\(контролер\))?\s?(?:[-–—:]\s?)?", re.IGNORECASE
)
_CONTROL = re.compile(r"(?:тип\sбенефіціарного\sволодіння|характер\sконтролю)\s?[-–—:]\s?([^,;]{1,200})", re.IGNORECASE)
_DIRECT_CONTROL = re.compile(r"(?:прямий|опосередкований)[^,;]{0,120}", re.IGNORECASE)
_ROLE_SEPARATOR = re.compile(r"\s[-–—]\s(?=[^-–—]*$)")


class ElementError(ValueError):
    """An element that cannot be imported; the message says why."""


@dataclass
class Person:
    """Someone named in an entity: role is head, signer, founder, beneficiary, member or branch_signer."""

    role: str
    name: str
    code: str | None = None  # a founder that is an entity: its EDRPOU
    share: Decimal | None = None  # UAH, as "розмір частки - 1000,00 грн."
    share_percent: Decimal | None = None  # of the authorised capital, when both are known
    details: str | None = None  # the rest of the text: address, nature of control, the role word


@dataclass
class Link:
    """Another entity this one names: relation is predecessor, assignee or branch."""

    relation: str
    name: str | None
    code: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Entity:
    kind: str
    id: str
    edrpou: str | None
    name: str
    short_name: str | None = None
    status: str = ""
    status_code: str = "unknown"
    address: str | None = None
    region: str | None = None
    registered_on: dt.date | None = None
    capital: Decimal | None = None
    head: str | None = None
    activities: list[dict[str, Any]] = field(default_factory=list)
    termination: dict[str, Any] | None = None
    bankruptcy: dict[str, Any] | None = None
    tax_registrations: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    persons: list[Person] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def kveds(self) -> list[str]:
        """Activity codes and their divisions (62.01 and 62), for the KVED filter."""
        codes: set[str] = set()
        for activity in self.activities:
            code = activity.get("code")
            if code:
                codes.add(code)
                codes.add(code.split(".")[0])
        return sorted(codes)


# ---- small readers ---------------------------------------------------------------------------------


def clean(value: str | None) -> str | None:
    """Whitespace collapsed, None when empty."""
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:MAX_TEXT] or None


def kids(element: Any) -> dict[Any, Any]:
    """An element's children by tag (the first of each): one pass, then every lookup is a dict get. Comments and
    processing instructions are keyed by their (non-string) tag, so a lookup by name never finds them."""
    found: dict[Any, Any] = {}
    for child in element:
        found.setdefault(child.tag, child)
    return found


def _text(children: dict[Any, Any], tag: str) -> str | None:
    child = children.get(tag)
    if child is None:
        return None
    return clean(child.text if len(child) == 0 else "".join(child.itertext()))


def _items(children: dict[Any, Any], parent: str, tag: str) -> list[Any]:
    holder = children.get(parent)
    return [] if holder is None else [child for child in holder if child.tag == tag]


def _item_text(item: Any) -> str | None:
    return clean(item.text if len(item) == 0 else "".join(item.itertext()))


def parse_date(value: str | None) -> dt.date | None:
    """The first DD.MM.YYYY in the text (or an ISO date), None when there is none or it is impossible."""
    if not value:
        return None
    match = _DATE.search(value)
    try:
        if match:
            return dt.date(int(match[3]), int(match[2]), int(match[1]))
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_amount(value: str | None) -> Decimal | None:
    """ "1 000,50" or "1000.50" as a Decimal, None when it is not a number."""
    if not value:
        return None
    digits = value.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 and amount < Decimal(10) ** 15 else None


def entity_code(value: str | None) -> str | None:
    """An EDRPOU code with its leading zeros (7-digit codes written without them are padded), if it checks."""
    if not value or not value.isascii() or not value.isdigit() or not 6 <= len(value) <= 8:
        return None
    code = value.zfill(8)
    try:
        return validate_edrpou(code)
    except EdrpouError:
        return None


def region_of(address: str | None) -> str | None:
    """The region (oblast, Kyiv, Sevastopol, Crimea) named in an address, as the address writes it."""
    if not address:
        return None
    for part in address.split(","):
        words = part.strip()
        folded = words.lower()
        if "обл" in folded:
            name = words.split()[0]
            return f"{name} область" if name[:1].isupper() else words
        if "крим" in folded and "республік" in folded:
            return "Автономна Республіка Крим"
        for city in ("київ", "севастополь"):
            if folded.replace(".", ". ").split()[-1:] == [city] and (folded.startswith("м") or folded == city):
                return f"м. {city.capitalize()}"
    return None


def fop_id(name: str, anchor: str | None) -> str:
    digest = hashlib.sha256(f"{fold(name)}|{fold(anchor or '')}".encode()).hexdigest()
    return f"fop-{digest[:20]}"


def _status(entity: Entity, word: str | None) -> None:
    entity.status = word or ""
    code = STATUSES.get(fold(word or ""))
    if code is None:
        entity.status_code = "unknown"
        entity.warnings.append(f"unknown status {word!r}" if word else "no status (STAN)")
    else:
        entity.status_code = code


# ---- free-text lists ---------------------------------------------------------------------------------


def split_first(text: str) -> tuple[str, str]:
    """The name before the first comma that is not inside «...» quotes, and the rest."""
    depth = 0
    for index, char in enumerate(text):
        if char in "«\u201c":
            depth += 1
        elif char in "»\u201d" and depth:
            depth -= 1
        elif char == "," and not depth:
            return text[:index].strip(), text[index + 1 :].strip()
    return text.strip(), ""


def parse_founder(text: str, capital: Decimal | None) -> Person:
    name, rest = split_first(text)
    code = None
    for match in _EIGHT_DIGITS.finditer(rest[:400]):
        code = entity_code(match[0])
        if code:
            break
    share_match = _SHARE.search(text)
    share = parse_amount(share_match[1]) if share_match else None
    percent = None
    if share is not None and capital:
        percent = (share * 100 / capital).quantize(Decimal("0.01"))
    return Person("founder", name, code=code, share=share, share_percent=percent, details=rest or None)


def parse_beneficiary(text: str) -> Person | None:
    """A final beneficiary, the prefix removed; None when the text says there is none."""
    body = _BENEFICIARY_PREFIX.sub("", text, count=1).strip()
    name, rest = split_first(body)
    folded = fold(name)
    if not name or any(word in folded for word in ("відсутн", "не визнач", "немає", "не встановлен", "не є ")):
        return None
    control = _CONTROL.search(rest)
    nature = control[1].strip() if control else None
    if nature is None:
        direct = _DIRECT_CONTROL.search(rest)
        nature = direct[0].strip() if direct else None
    # The nature of control comes first in the details, then the text after the name as published.
    details = "; ".join(part for part in (nature, rest) if part)
    return Person("beneficiary", name, details=details or None)


def parse_signer(text: str) -> Person:
    """ "NAME - керівник" is the head, "NAME - підписант" (or anything else) a signer."""
    parts = _ROLE_SEPARATOR.split(text, maxsplit=1)
    name, word = (parts[0].strip(), parts[1].strip()) if len(parts) == 2 else (text.strip(), "")
    role = "head" if fold(word).startswith("керівник") else "signer"
    return Person(role, name, details=word or None)


# ---- elements ----------------------------------------------------------------------------------------


def _info(element: dict[Any, Any], tag: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
    holder = element.get(tag)
    if holder is None:
        return None
    children = kids(holder)
    found = {name.lower(): _text(children, name) for name in fields}
    found = {k: v for k, v in found.items() if v}
    return found or None


def _common(entity: Entity, element: dict[Any, Any]) -> None:
    """What UO, FOP and FSU share: registration, termination, bankruptcy, tax registration, activities."""
    registration = _text(element, "REGISTRATION")
    entity.registered_on = parse_date(registration)
    entity.address = entity.address or _text(element, "ADDRESS")
    entity.region = region_of(entity.address)
    details = {
        "record": _text(element, "RECORD"),
        "registration": registration,
        "terminated_info": _text(element, "TERMINATED_INFO"),
        "termination_cancel_info": _text(element, "TERMINATION_CANCEL_INFO"),
        "contacts": _text(element, "CONTACTS"),
    }
    entity.details.update({k: v for k, v in details.items() if v})
    entity.termination = _info(
        element, "TERMINATION_STARTED_INFO", ("OP_DATE", "REASON", "SBJ_STATE", "SIGNER_NAME", "CREDITOR_REQ_END_DATE")
    )
    entity.bankruptcy = _info(
        element, "BANKRUPTCY_READJUSTMENT_INFO", ("OP_DATE", "REASON", "SBJ_STATE", "BANKRUPTCY_READJUSTMENT_HEAD_NAME")
    )
    for answer in _items(element, "EXCHANGE_DATA", "EXCHANGE_ANSWER"):
        children = kids(answer)
        found = {
            name.lower(): _text(children, name)
            for name in ("TAX_PAYER_TYPE", "START_DATE", "START_NUM", "END_DATE", "END_NUM")
        }
        if any(found.values()):
            entity.tax_registrations.append({k: v for k, v in found.items() if v})
    for activity in _items(element, "ACTIVITY_KINDS", "ACTIVITY_KIND"):
        children = kids(activity)
        code, name = _text(children, "CODE"), _text(children, "NAME")
        if code or name:
            primary = fold(_text(children, "PRIMARY") or "") in ("так", "true", "1")
            entity.activities.append({"code": code, "name": name, "primary": primary})


def _organisation(element: dict[Any, Any], kind: str) -> Entity:
    """A legal entity (UO) or a public association (FSU)."""
    raw_code = _text(element, "EDRPOU")
    if not raw_code:
        raise ElementError("no EDRPOU code")
    try:
        code = validate_edrpou(raw_code.zfill(8) if raw_code.isascii() and raw_code.isdigit() else raw_code)
    except EdrpouError as exc:
        raise ElementError(f"EDRPOU {raw_code!r}: {exc}") from None
    name = _text(element, "NAME")
    if not name:
        raise ElementError(f"EDRPOU {code}: no NAME")
    entity = Entity(kind, code, code, name, short_name=_text(element, "SHORT_NAME"))
    _status(entity, _text(element, "STAN"))
    capital_text = _text(element, "AUTHORIZED_CAPITAL")
    entity.capital = parse_amount(capital_text)
    executive = element.get("EXECUTIVE_POWER")
    executive_kids = kids(executive) if executive is not None else {}
    details = {
        "opf": _text(element, "OPF"),
        "founding_document_num": _text(element, "FOUNDING_DOCUMENT_NUM"),
        "superior_management": _text(element, "SUPERIOR_MANAGEMENT"),
        "authorized_capital": capital_text,
        "statute": _text(element, "STATUTE"),
        "managing_paper": _text(element, "MANAGING_PAPER"),
        "type_subject": _text(element, "TYPE_SUBJECT"),
        "type_branch": _text(element, "TYPE_BRANCH"),
        "executive_power": (
            {"name": _text(executive_kids, "NAME"), "code": _text(executive_kids, "CODE")}
            if executive is not None
            else None
        ),
    }
    entity.details.update({k: v for k, v in details.items() if v})
    _common(entity, element)
    _people(entity, element)
    return entity


def _people(entity: Entity, element: dict[Any, Any]) -> None:
    for item in _items(element, "SIGNERS", "SIGNER"):
        text = _item_text(item)
        if text:
            entity.persons.append(parse_signer(text))
    head = next((p for p in entity.persons if p.role == "head"), None)
    entity.head = head.name if head else entity.head
    for item in _items(element, "FOUNDERS", "FOUNDER"):
        text = _item_text(item)
        if text:
            entity.persons.append(parse_founder(text, entity.capital))
    notes = []
    for item in _items(element, "BENEFICIARIES", "BENEFICIARY"):
        text = _item_text(item)
        if text:
            person = parse_beneficiary(text)
            if person is None:
                notes.append(text)
            else:
                entity.persons.append(person)
    if notes:
        entity.details["beneficiary_notes"] = notes
    for item in _items(element, "MEMBERS", "MEMBER"):
        text = _item_text(item)
        if text:
            name, rest = split_first(text)
            entity.persons.append(Person("member", name, details=rest or None))
    for branch_element in _items(element, "BRANCHES", "BRANCH"):
        branch = kids(branch_element)
        signer = _text(branch, "SIGNER")
        entity.links.append(
            Link(
                "branch",
                _text(branch, "NAME"),
                entity_code(_text(branch, "CODE")),
                {k: v for k, v in {"signer": signer, "create_date": _text(branch, "CREATE_DATE")}.items() if v},
            )
        )
        if signer:
            entity.persons.append(Person("branch_signer", parse_signer(signer).name, details=_text(branch, "NAME")))
    for tag, relation in (("PREDECESSORS", "predecessor"), ("ASSIGNEES", "assignee")):
        for item in _items(element, tag, tag[:-1]):
            linked, raw = _text(children := kids(item), "NAME"), _text(children, "CODE")
            if linked or raw:
                entity.links.append(Link(relation, linked, entity_code(raw), {"code_as_published": raw} if raw else {}))


def _entrepreneur(element: dict[Any, Any]) -> Entity:
    name = _text(element, "NAME") or _text(element, "FIO")
    if not name:
        raise ElementError("no NAME of the entrepreneur")
    registration = _text(element, "REGISTRATION")
    address = _text(element, "ADDRESS")
    entity = Entity("fop", fop_id(name, registration or address), None, name, address=address)
    _status(entity, _text(element, "STAN"))
    details = {"farmer": _text(element, "FARMER"), "estate_manager": _text(element, "ESTATE_MANAGER")}
    entity.details.update({k: v for k, v in details.items() if v})
    _common(entity, element)
    _legacy_kved(entity, element)
    entity.head = name
    # The entrepreneur is the person: listed as its head, so that search_persons finds them too.
    entity.persons.append(Person("head", name, details=KIND_LABELS["fop"]))
    return entity


def _legacy_kved(entity: Entity, element: dict[Any, Any]) -> None:
    """Legacy dumps write the activity as "code description" in one KVED element."""
    kved = _text(element, "KVED")
    if kved and not entity.activities:
        code, _, name = kved.partition(" ")
        if code[:1].isdigit():
            entity.activities.append({"code": code, "name": name.strip() or None, "primary": True})
        else:
            entity.activities.append({"code": None, "name": kved, "primary": True})


def _legacy_organisation(element: dict[Any, Any]) -> Entity:
    entity = _organisation(element, "uo")
    boss = _text(element, "BOSS")
    if boss and entity.head is None:
        entity.head = boss
        entity.persons.insert(0, Person("head", boss))
    _legacy_kved(entity, element)
    return entity


def parse_element(element: Any, kind_hint: str | None) -> Entity:
    """One entity element; `kind_hint` is the file's kind when its name tells it, else the element decides."""
    children = kids(element)
    if element.tag == "RECORD":  # legacy 15.1 / 15.2
        return _entrepreneur(children) if "FIO" in children or kind_hint == "fop" else _legacy_organisation(children)
    kind = kind_hint or ("fsu" if "TYPE_SUBJECT" in children else "uo" if "EDRPOU" in children else "fop")
    return _entrepreneur(children) if kind == "fop" else _organisation(children, kind)


def kind_from_name(name: str) -> str | None:
    """The kind a dump's file name tells (UO_FULL_out.xml, fop.zip, 15.2-EX_XML_EDR_FOP.xml, ...)."""
    upper = name.upper().rsplit("/", 1)[-1]
    for kind in ("FSU", "FOP", "UO"):
        if kind in upper:
            return kind.lower()
    return None


@dataclass
class Parsed:
    """One element read: its number (1-based, in document order), the line it ended on, and an entity or error."""

    number: int
    line: int
    entity: Entity | None
    error: str | None = None
    entity_id: str | None = None  # what the element's id would be, when it could be told despite the error


def read_elements(stream: IO[bytes], kind_hint: str | None, skip: int = 0) -> Iterator[Parsed]:
    """Every entity element of a dump, in order, clearing each as soon as it is read.

    lxml recovers from malformed markup (an unclosed tag, a stray byte) where it can and goes on; what it had to
    skip is reported as an element error with the line, so a damaged dump still yields everything readable.
    The first `skip` elements (read by an import that is being resumed) are only read past: neither extracted
    nor yielded, nor their markup errors.

    Memory stays flat: each element is cleared once read and the elements before it are deleted from the root
    (lxml keeps the tree it builds, so an element that was only cleared would still hold a node per entity).
    """
    context = etree.iterparse(
        stream, events=("end",), tag=("SUBJECT", "RECORD"), recover=True, huge_tree=True, resolve_entities=False
    )
    number = 0
    reported = 0
    for _, element in context:
        parent = element.getparent()
        if element.tag == "RECORD" and parent is not None and parent.getparent() is not None:
            continue  # SUBJECT/RECORD: the record number inside an entity
        number += 1
        if number > skip:
            try:
                yield Parsed(number, element.sourceline or 0, parse_element(element, kind_hint))
            except ElementError as exc:
                code = _text(kids(element), "EDRPOU")
                yield Parsed(number, element.sourceline or 0, None, str(exc), entity_code(code) if code else None)
            except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
                # Odd data this reader did not foresee: reported like any bad element, never a traceback.
                yield Parsed(number, element.sourceline or 0, None, f"could not read the element: {exc}")
        element.clear()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
        errors = context.error_log
        if len(errors) > reported:
            if number > skip:
                for entry in list(errors)[reported:]:
                    yield Parsed(number, entry.line, None, f"malformed XML: {entry.message.strip()}")
            reported = len(errors)
    errors = context.error_log
    for entry in list(errors)[reported:]:
        yield Parsed(number, entry.line, None, f"malformed XML: {entry.message.strip()}")
