"""config.params.id_param: the one check of an id from a query string or a path (pure code)."""

import pytest

from config.params import id_param


@pytest.mark.parametrize("value", ["", None, "²", "٣", "1²", "-1", "+1", " 1", "1.0", "1e3", "9" * 19, "0x1", "１"])
def test_what_is_not_an_id(value):
    assert id_param(value) is None


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("7", 7), ("007", 7), ("9" * 18, 10**18 - 1)])
def test_ascii_digits_are_an_id(value, expected):
    assert id_param(value) == expected
