"""EDRPOU codes (the identifier of a legal entity in the Unified State Register): 8 digits, the last a check digit."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{8}")


class EdrpouError(ValueError):
    """The value is not a valid EDRPOU code; the message says why."""


def check_digit(first_seven: str, code: int | None = None) -> int:
    """The check digit of an EDRPOU code from its first seven digits (the state statistics service's algorithm).

    Weights are 1..7, or 7,1,2,...,6 unless the code is below 30000000 or above 60000000; when the sum mod 11
    is 10 it is taken again with every weight increased by 2, and a second 10 gives 0.
    """
    digits = [int(c) for c in first_seven]
    if code is None:
        code = int(first_seven) * 10
    weights = [1, 2, 3, 4, 5, 6, 7] if code < 30000000 or code > 60000000 else [7, 1, 2, 3, 4, 5, 6]
    remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    if remainder == 10:
        remainder = sum(d * (w + 2) for d, w in zip(digits, weights, strict=True)) % 11
        if remainder == 10:
            remainder = 0
    return remainder


def validate_edrpou(value: object) -> str:
    """The code if it is 8 digits with a correct check digit; else EdrpouError."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise EdrpouError("an EDRPOU code is exactly 8 digits")
    expected = check_digit(value[:7], int(value))
    if int(value[7]) != expected:
        raise EdrpouError(f"the check digit of {value} should be {expected}")
    return value


def is_valid_edrpou(value: str) -> bool:
    try:
        validate_edrpou(value)
    except EdrpouError:
        return False
    return True
