"""The portal's formatting filters (operators/templatetags/portal.py): pure, no database."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from operators.templatetags.portal import day, money, number, share, when

NB = "\u00a0"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", f"1{NB}234{NB}567,89{NB}BYN"), ("be", f"1{NB}234{NB}567,89{NB}BYN"), ("en", f"1,234,567.89{NB}BYN")],
)
def test_money_per_language(language, expected):
    with translation.override(language):
        assert money(Decimal("1234567.891")) == expected


def test_money_from_json_strings_and_negatives():
    with translation.override("ru"):
        assert money("253523.34") == f"253{NB}523,34{NB}BYN"
        assert money(-1234.5) == f"−1{NB}234,50{NB}BYN"
        assert money(0) == f"0,00{NB}BYN"
        assert money(None) == "—"
        assert money("1000", "") == f"1{NB}000,00"


@pytest.mark.parametrize(("language", "expected"), [("ru", f"48,5{NB}%"), ("be", f"48,5{NB}%"), ("en", "48.5%")])
def test_share_per_language(language, expected):
    with translation.override(language):
        assert share(Decimal("0.4846")) == expected
        assert share("0.4846") == expected


def test_share_of_nothing():
    assert share(None) == "—"


@pytest.mark.parametrize(
    ("language", "value", "places", "expected"),
    [
        ("ru", 2000000, None, f"2{NB}000{NB}000"),
        ("en", 2000000, None, "2,000,000"),
        ("be", 191, None, "191"),
        ("ru", "7.00", 2, "7,00"),
        ("ru", Decimal("46"), 2, "46,00"),
        ("en", "7.00", 2, "7.00"),
        ("ru", "12.5", None, "12,5"),
        ("ru", 3, None, "3"),
    ],
)
def test_number(language, value, places, expected):
    with translation.override(language):
        assert number(value, places) == expected


def test_number_keeps_what_is_not_a_number():
    assert number("abc") == "abc"
    assert number(None) == "—"


@pytest.mark.parametrize("language", ["ru", "en", "be"])
def test_dates_are_dd_mm_yyyy_in_every_language(language):
    with translation.override(language):
        assert day(date(2026, 1, 31)) == "31.01.2026"
        assert day("2026-01-31") == "31.01.2026"
        # 22:30 UTC is already the next day in Minsk (UTC+3)
        assert day(datetime(2026, 1, 31, 22, 30, tzinfo=UTC)) == "01.02.2026"


def test_times_in_minsk_without_offset():
    moment = datetime(2026, 3, 1, 9, 5, 7, tzinfo=UTC)
    assert when(moment) == f"01.03.2026{NB}12:05"
    assert when(moment, "seconds") == f"01.03.2026{NB}12:05:07"
    assert when("2026-03-01T09:05:07+00:00") == f"01.03.2026{NB}12:05"
    assert when("2026-03-01T12:05:07.123456+03:00") == f"01.03.2026{NB}12:05"
    assert when("2026-03-01") == "01.03.2026"
    assert when(None) == "—"
    assert "+" not in when("2026-03-01T09:05:07+00:00")


def test_filters_in_a_template():
    template = Template("{% load portal %}{{ a|money }} | {{ s|share }} | {{ n|number }} | {{ d|day }} | {{ t|when }}")
    context = Context(
        {"a": "1234.5", "s": "0.5", "n": 12345, "d": date(2026, 2, 3), "t": datetime(2026, 2, 3, 7, 0, tzinfo=UTC)}
    )
    with translation.override("ru"):
        assert template.render(context) == (
            f"1{NB}234,50{NB}BYN | 50,0{NB}% | 12{NB}345 | 03.02.2026 | 03.02.2026{NB}10:00"
        )


def test_figure_by_its_name():
    from operators.templatetags.portal import figure

    with translation.override("ru"):
        assert figure("7584.11", "declared_out_byn") == f"7{NB}584,11{NB}BYN"
        assert figure(1200, "declared_rows") == f"1{NB}200"
        assert figure("0.561", "non_return_share") == f"56,1{NB}%"
        assert figure("2025-04-20", "due_date") == "20.04.2025"
        assert figure("2025-03-05T07:00:00+00:00", "submitted_at") == f"05.03.2025{NB}10:00"
        assert figure("exmo", "platform") == "exmo"
        assert figure(None, "x") == "—"
