"""Ukrainian text for full-text search: the folding shared with the database, a light stemmer, and the
translation of a user's query into a PostgreSQL tsquery.

The index side is PostgreSQL's `simple` parser over text folded by secondlayer_fold() (migration 0002).
Stock PostgreSQL has no Ukrainian stemmer, so inflection is handled here: each word of the query is cut to
its stem and matched as a prefix (`стягн:*` finds стягнення, стягнути, стягненню), and the і/о/е alternation
of closed syllables (договір/договору, позов/позів) adds the other form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONFIG = "secondlayer_uk"

# Keep equal to migration 0002's secondlayer_fold(); tests/test_corpus_search.py compares the two.
_UPPER = "АБВГҐДЕЄЖЗИІЇЙКЛМНОПРСТУФХЦЧШЩЬЮЯЁЫЭЪABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "абвггдеєжзиіїйклмнопрстуфхцчшщьюяеыэъabcdefghijklmnopqrstuvwxyz"
APOSTROPHES = "'`\u2019\u2018\u02b9\u2032\u02bc"
APOSTROPHE = "\u02bc"
FOLD_FROM = _UPPER + "ґё" + APOSTROPHES + "\u0301"
FOLD_TO = _LOWER + "ге" + APOSTROPHE * len(APOSTROPHES)
_FOLD = str.maketrans(FOLD_FROM[: len(FOLD_TO)], FOLD_TO, FOLD_FROM[len(FOLD_TO) :])

MAX_TERMS = 16

_VOWELS = set("аеєиіїоуюяыэ")
_LETTERS = re.compile(r"^[a-zабвгдеєжзиіїйклмнопрстуфхцчшщьюяыэъ\u02bc-]+$")

# Words that carry no meaning on their own; dropped from a query that has other words.
STOP_WORDS = frozenset(
    "і й та в у на з із зі зо до за від по про що як не а але чи або для при під над о об це цей ця ці "
    "його її їх він вона вони яка який які якого якій що щодо між через так також ст ч п пп абз".split()
)

# Inflectional and a few deverbal endings, longest first; one is removed per word.
_SUFFIXES = sorted(
    set(
        """
        ування ювання ення ання іння ття ння
        ються ється ються ться тися тись ував ували увати ювати ують юють ує ює
        ами ями ові еві єві ого ому ими іми ій ий ої ою ею єю ім их іх ах ях ам ям ів їв ей ом ем єм
        ена ене ені ено ений ана ане ані ано аний ити ати іти ути яти ла ли ло ють ять ать уть ить
        а я у ю е є о і ї и й ь
        """.split()
    ),
    key=len,
    reverse=True,
)


def fold(value: str) -> str:
    """Lower case, one apostrophe, ґ→г, ё→е, no stress marks: what secondlayer_fold() does in SQL."""
    return value.translate(_FOLD)


def stem(word: str) -> str:
    """A light stem of a folded Ukrainian word: the longest known ending removed, keeping 3 letters or more."""
    if not _LETTERS.match(word) or len(word) < 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            candidate = word[: -len(suffix)]
            if any(ch in _VOWELS for ch in candidate):
                return candidate
    return word


def _alternation(word: str, base: str) -> list[str]:
    """Other forms of the last syllable's vowel: договір ↔ договор-, позов- ↔ позів, рік ↔ рок-."""
    index = max(base.rfind(v) for v in "аеєиіїоуюя")
    if index <= 0 or index == len(base) - 1:
        return []
    tail = base[index + 1 :]
    if any(ch in _VOWELS for ch in tail):
        return []
    vowel = base[index]
    if vowel == "і" and word in (base, base + "ь"):
        # A nominative with a closed syllable: договір → договор-, спір → спор-, давність → давност- (давності)
        return [base[:index] + "о" + tail, base[:index] + "е" + tail]
    if vowel in "ое" and word != base:  # an inflected form: договору → договір, давності → давність
        return [base[:index] + "і" + tail]
    return []


@dataclass(frozen=True)
class Term:
    """One word or phrase of a query, already folded."""

    text: str
    phrase: bool = False
    negated: bool = False


class QueryError(ValueError):
    """The query has nothing to search for."""


_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_EDGE_PUNCT = '«»"“”„.,;:!?()[]{}<>*&|!\\'


def parse_query(query: str) -> list[tuple[str, Term]]:
    """Split a query into (operator, term): AND by default, `OR` between words, `-word` to exclude,
    "quoted phrases" matched word for word."""
    terms: list[tuple[str, Term]] = []
    pending_or = False
    for match in _TOKEN.finditer(query):
        negated_phrase, phrase, word = match.groups()
        if phrase is not None:
            text = fold(phrase).strip()
            if any(ch.isalnum() for ch in text):
                terms.append(("|" if pending_or else "&", Term(text, phrase=True, negated=bool(negated_phrase))))
                pending_or = False
            continue
        if word in ("OR", "|"):
            pending_or = bool(terms)
            continue
        negated = word.startswith("-") and len(word) > 1
        text = fold(word[1:] if negated else word).strip(_EDGE_PUNCT + APOSTROPHE + "-")
        if not any(ch.isalnum() for ch in text):
            continue
        # The index holds both parts of a hyphenated word; matching them separately keeps the query exact in
        # the GIN index (the whole compound would become a phrase, which needs every match's tsvector read).
        parts = text.split("-") if _LETTERS.match(text) and not negated else [text]
        for part in filter(None, parts):
            terms.append(("|" if pending_or else "&", Term(part, negated=negated)))
            pending_or = False
    meaningful = [t for t in terms if t[1].phrase or t[1].text not in STOP_WORDS]
    if any(not t[1].negated for t in meaningful):
        terms = meaningful
    return terms[:MAX_TERMS]


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def term_tsquery(term: Term, *, stemming: bool = True) -> str:
    """The to_tsquery() text for one term; words get their stem as a prefix and alternation variants."""
    if term.phrase:
        # Words stay in order and adjacent, each in any inflection: "договір підряду" finds договором підряду.
        words = [w.strip(_EDGE_PUNCT + APOSTROPHE) for w in term.text.split()]
        parts = [
            _quote(w) if w in STOP_WORDS else term_tsquery(Term(w), stemming=stemming)
            for w in words
            if any(ch.isalnum() for ch in w)
        ]
        return "( " + " <-> ".join(parts) + " )" if parts else _quote(term.text)
    word = term.text
    if not stemming or not _LETTERS.match(word):
        return _quote(word)
    base = stem(word)
    if len(base) < 3:
        return _quote(word)
    options = [f"{_quote(base)}:*"]
    options += [f"{_quote(variant)}:*" for variant in _alternation(word, base)]
    return "( " + " | ".join(options) + " )" if len(options) > 1 else options[0]


def build_tsquery(query: str, *, stemming: bool = True) -> str:
    """A to_tsquery() expression (under the secondlayer_uk configuration) for a user's query.

    Raises QueryError when nothing searchable is left (only punctuation, only exclusions).
    """
    terms = parse_query(query)
    if not any(not t.negated for _, t in terms):
        raise QueryError("the query has no words to search for")
    parts: list[str] = []
    for operator, term in terms:
        text = term_tsquery(term, stemming=stemming)
        if term.negated:
            text = f"!{text}"
        parts.append(text if not parts else f"{operator} {text}")
    return " ".join(parts)
