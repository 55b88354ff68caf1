"""Evidence values read like the rest of the page: money, shares, counts, dates, Minsk times (pure, no DB)."""

from types import SimpleNamespace

import pytest
from django.utils import translation
from django.utils.html import strip_tags

from audits.evidence_format import evidence_shown
from audits.templatetags.evidence import evidence_rows

NB = "\u00a0"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("value_byn", "253523.34", f"253{NB}523,34{NB}BYN"),
        ("out_value_byn", 1200, f"1{NB}200,00{NB}BYN"),
        ("non_return_share", "0.4846", f"48,5{NB}%"),
        ("threshold", "0.5", f"50,0{NB}%"),
        ("transfer_count", 2191, f"2{NB}191"),
        ("days_late", 3, "3"),
        ("first_occurred_at", "2025-03-05T07:00:00+00:00", f"05.03.2025{NB}10:00"),
        ("submitted_at", "2025-03-05T23:30:00+03:00", f"05.03.2025{NB}23:30"),
        ("due_date", "2025-04-20", "20.04.2025"),
        ("htp_certificate_valid_until", "2030-01-01", "01.01.2030"),
        ("platform", "exmo", "exmo"),
        ("kind", None, "—"),
    ],
)
def test_evidence_values_in_russian(key, value, expected):
    with translation.override("ru"):
        assert evidence_shown(key, value) == expected


def test_english_keeps_its_own_separators():
    with translation.override("en"):
        assert evidence_shown("value_byn", "253523.34") == f"253,523.34{NB}BYN"
        assert evidence_shown("first_occurred_at", "2025-03-05T07:00:00+00:00") == f"05.03.2025{NB}10:00"


def test_rendered_evidence_has_no_raw_decimals_or_offsets():
    flag = SimpleNamespace(
        operator=SimpleNamespace(unp="190000001"),
        evidence={
            "transfer_count": 1234,
            "value_byn": "253523.34",
            "first_occurred_at": "2025-03-05T07:00:00+00:00",
            "last_occurred_at": "2025-03-09T21:15:00+00:00",
            "due_date": "2025-04-20",
        },
    )
    with translation.override("ru"):
        text = strip_tags(" ".join(str(value) for _label, _key, value in evidence_rows(flag)))
    assert "253523.34" not in text
    assert f"253{NB}523,34{NB}BYN" in text
    assert "+00:00" not in text
    assert "T07:00" not in text
    assert f"05.03.2025{NB}10:00" in text
    assert "20.04.2025" in text
    assert f"1{NB}234" in text


def test_a_non_return_flags_evidence_reads_share_interval_then_what_it_is_computed_from():
    # As PostgreSQL's jsonb gives the keys back: by length, not as the rule wrote them.
    stored = [
        "run",
        "as_of",
        "threshold",
        "window_days",
        "outbound_count",
        "confidence_share",
        "non_return_share",
        "interval_low_share",
        "outbound_investors",
        "outbound_value_byn",
        "returned_value_byn",
        "bootstrap_resamples",
        "interval_high_share",
        "unreturned_value_byn",
        "pending_outbound_value_byn",
        "rows",
    ]
    flag = SimpleNamespace(id=9, operator=SimpleNamespace(unp="190000001"), evidence=dict.fromkeys(stored, "1"))
    keys = [key for _label, key, _value in evidence_rows(flag)]
    assert keys[:7] == [
        "run",
        "as_of",
        "non_return_share",
        "interval_low_share",
        "interval_high_share",
        "confidence_share",
        "bootstrap_resamples",
    ]
    assert keys[-4:] == [
        "outbound_value_byn",
        "returned_value_byn",
        "unreturned_value_byn",
        "pending_outbound_value_byn",
    ]
    assert "rows" not in keys  # hidden: what selects the rows, not a figure
    # Keys the order does not name keep their stored order.
    other = SimpleNamespace(id=1, operator=SimpleNamespace(unp="190000001"), evidence={"kind": "x", "due_date": "y"})
    assert [key for _label, key, _value in evidence_rows(other)] == ["kind", "due_date"]
