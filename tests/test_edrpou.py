"""EDRPOU codes: 8 digits and the official check digit, with both weight sets and the +2 fallback."""

from __future__ import annotations

import pytest

from app.corpus.edr.demo import DEMO_DUMP
from app.corpus.edr.parse import read_elements
from app.corpus.edrpou import EdrpouError, check_digit, is_valid_edrpou, validate_edrpou


@pytest.mark.parametrize(
    "code",
    [
        "14360570",  # below 30000000: weights 1..7
        "00032129",
        "21560766",
        "30991664",  # between 30000000 and 60000000: weights 7,1,2,3,4,5,6
        "40075815",
        "69319944",  # above 60000000, remainder 10 with the first weights: weights + 2
        "59648953",  # between, remainder 10 with the first weights: weights + 2
    ],
)
def test_valid_codes_pass(code: str) -> None:
    assert validate_edrpou(code) == code
    assert is_valid_edrpou(code)


def test_fallback_weights_are_exercised() -> None:
    # With the first weight set the remainder is 10, so the digit comes from the weights increased by 2.
    digits = [int(c) for c in "6931994"]
    assert sum(d * w for d, w in zip(digits, range(1, 8), strict=True)) % 11 == 10
    assert check_digit("6931994") == 4
    digits = [int(c) for c in "5964895"]
    assert sum(d * w for d, w in zip(digits, [7, 1, 2, 3, 4, 5, 6], strict=True)) % 11 == 10
    assert check_digit("5964895", 59648953) == 3


@pytest.mark.parametrize("code", ["14360571", "00032128", "30991665", "69319945"])
def test_wrong_check_digit_is_refused_and_names_the_right_one(code: str) -> None:
    with pytest.raises(EdrpouError, match="check digit"):
        validate_edrpou(code)
    assert not is_valid_edrpou(code)


@pytest.mark.parametrize(
    "code", ["", "1436057", "143605700", "1436057O", " 14360570", "14 360570", "１４３６０５７０", "14360570\n"]
)
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(EdrpouError, match="8 digits"):
        validate_edrpou(code)


def test_every_demo_company_has_a_valid_code() -> None:
    with DEMO_DUMP.open("rb") as stream:
        codes = [p.entity.edrpou or "" for p in read_elements(stream, "uo") if p.entity is not None]
    assert len(codes) >= 20 and len(set(codes)) == len(codes)
    assert all(is_valid_edrpou(c) for c in codes)
