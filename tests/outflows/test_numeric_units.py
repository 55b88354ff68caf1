"""The COPY reader's decode of a binary numeric amount into units of 10**-8 (outflows.readers.binary)."""

import random
import struct
from decimal import Decimal

import numpy as np
import pytest

from outflows.readers.binary import AMOUNT_MAX, _numeric_units


def numeric_bytes(value: Decimal) -> np.ndarray:
    """PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits."""
    text = format(abs(value), "f")
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0")
    whole = "0" * (-len(whole) % 4) + whole
    dscale = len(fraction)
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(whole[i : i + 4]) for i in range(0, len(whole), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack(">hhHH", len(groups), weight, 0x4000 if value < 0 else 0, dscale)
    return np.frombuffer(header + b"".join(struct.pack(">H", g) for g in groups), np.uint8)


def expected_units(value: Decimal) -> int:
    return min(int(value.scaleb(8)), AMOUNT_MAX)  # digits beyond 10**-8 dropped; saturates


@pytest.mark.parametrize(
    "text",
    ["0", "1", "0.00000001", "0.000000009", "946.33", "9999.9999", "10000", "99999999.99999999", "100000000",
     "92233720368.54775807", "92233720368.54775808", "99999999999.999", "1000000000000", "123456789012345.5",
     "0.123456789012345678", "12345.000000000000000001"],
)  # fmt: skip
def test_edges(text):
    value = Decimal(text)
    assert _numeric_units(numeric_bytes(value), 0) == expected_units(value)


def test_random_amounts_of_every_size():
    rng = random.Random(3)
    for _ in range(5000):
        digits = rng.randint(1, 30)
        scale = rng.randint(0, 18)
        value = Decimal(rng.randrange(10**digits)).scaleb(-scale)
        assert _numeric_units(numeric_bytes(value), 0) == expected_units(value), value
