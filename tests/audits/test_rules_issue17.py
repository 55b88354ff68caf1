"""Issue 17's rule changes: HIGH_NON_RETURN's guardrails, NON_RETURN_TREND, UNREGISTERED_CLIENT's
second case (dates whose client register is due and missing)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from audits.models import Flag, Rule
from audits.services import scan_run
from audits.subjects import flag_subject
from operators.models import FilingKind
from outflows.models import Dimension, OutflowRun, OutflowStat, RunStatus
from outflows.services import outflow_run_compute
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db

GUARDS = {"threshold": "0.5", "min_outbound_byn": "0", "material_change": 0.2}


def flags(op, code):
    return list(Flag.objects.filter(operator=op, rule__code=code).exclude(status="cleared"))


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def _run(op, share, *, finished, window=365, cohort="all", interval=None, as_of=None):
    run = OutflowRun.objects.create(
        as_of=as_of or finished,
        window_days=window,
        status=RunStatus.FINISHED,
        finished_at=finished,
        uncertainty={"resamples": 200, "level": 0.95, "operators": {op.unp: interval}} if interval else {},
    )
    out = Decimal(1000)
    ret = (out * (1 - Decimal(share))).quantize(Decimal("0.01"))
    OutflowStat.objects.create(
        run=run,
        dimension=Dimension.OPERATOR,
        key=op.unp,
        cohort=cohort,
        outbound_value_byn=out,
        returned_value_byn=ret,
        unreturned_value_byn=out - ret,
        non_return_share=Decimal(share),
        pending_outbound_value_byn=0,
        pending_returned_value_byn=0,
        outbound_count=10,
    )
    return run


# --- HIGH_NON_RETURN guardrails ----------------------------------------------------------------


def test_seeded_guards_change_nothing_until_a_version_turns_them_on():
    rule = Rule.objects.get(code="HIGH_NON_RETURN")
    assert rule.parameters["min_outbound_investors"] == 0
    assert rule.parameters["interval_above_threshold"] is False
    op = h.operator()
    _run(op, "0.600000", finished=at(2025, 6, 19))  # a run from before the interval: still flags
    scan_run(now=h.NOW)
    assert len(flags(op, "HIGH_NON_RETURN")) == 1


@pytest.mark.parametrize(("investors", "fires"), [(2, False), (3, True)])
def test_minimum_number_of_distinct_outbound_investors(investors, fires):
    h.rule_setting("HIGH_NON_RETURN", parameters={**GUARDS, "min_outbound_investors": 3})
    op = h.operator()
    _run(op, "0.600000", finished=at(2025, 6, 19), interval={"low": "0.4", "high": "0.8", "investors": investors})
    scan_run(now=h.NOW)
    assert len(flags(op, "HIGH_NON_RETURN")) == int(fires)


@pytest.mark.parametrize(("low", "fires"), [("0.500000", False), ("0.510000", True)])
def test_flag_only_when_the_intervals_lower_bound_is_above_the_threshold(low, fires):
    h.rule_setting("HIGH_NON_RETURN", parameters={**GUARDS, "interval_above_threshold": True})
    op = h.operator()
    _run(op, "0.600000", finished=at(2025, 6, 19), interval={"low": low, "high": "0.690000", "investors": 40})
    scan_run(now=h.NOW)
    found = flags(op, "HIGH_NON_RETURN")
    assert len(found) == int(fires)
    if fires:
        evidence = found[0].evidence
        assert (evidence["interval_low_share"], evidence["interval_high_share"]) == ("0.510000", "0.690000")
        assert (evidence["outbound_investors"], evidence["bootstrap_resamples"]) == (40, 200)


def test_a_guard_asked_for_on_a_run_without_an_interval_does_not_flag():
    h.rule_setting("HIGH_NON_RETURN", parameters={**GUARDS, "min_outbound_investors": 1})
    op = h.operator()
    _run(op, "0.900000", finished=at(2025, 6, 19))
    scan_run(now=h.NOW)
    assert flags(op, "HIGH_NON_RETURN") == []


def test_three_small_transfers_of_one_investor_no_longer_flag_with_the_guard():
    """The issue's case end to end: a real run's interval and investor count."""
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 3, d), "OUT", "only", "5.00") for d in (1, 2, 3)])
    outflow_run_compute(as_of=h.NOW, window_days=30)
    scan_run(now=h.NOW)
    [flag] = flags(op, "HIGH_NON_RETURN")
    assert flag.evidence["outbound_investors"] == 1
    assert flag.evidence["interval_low_share"] == flag.evidence["interval_high_share"] == "1.000000"
    h.rule_setting("HIGH_NON_RETURN", parameters={**GUARDS, "min_outbound_investors": 2})
    scan_run(now=h.NOW)
    assert flags(op, "HIGH_NON_RETURN") == []


# --- NON_RETURN_TREND ----------------------------------------------------------------------------


def test_trend_flags_a_cohort_that_moved_more_than_the_points():
    op = h.operator()
    previous = _run(op, "0.300000", finished=at(2025, 6, 1), cohort="2025-03")
    latest = _run(op, "0.450000", finished=at(2025, 6, 19), cohort="2025-03")
    scan_run(now=h.NOW)
    [flag] = flags(op, "NON_RETURN_TREND")
    e = flag.evidence
    assert (e["cohort"], e["run"], e["previous_run"]) == ("2025-03", latest.pk, previous.pk)
    assert (e["previous_non_return_share"], e["non_return_share"], e["change_points"]) == (
        "0.300000",
        "0.450000",
        "15.00",
    )


@pytest.mark.parametrize(
    ("first", "second", "fires"), [("0.300000", "0.400000", False), ("0.500000", "0.399900", True)]
)
def test_trend_threshold_is_strict_and_both_directions(first, second, fires):
    op = h.operator()
    _run(op, first, finished=at(2025, 6, 1), cohort="2025-03")
    _run(op, second, finished=at(2025, 6, 19), cohort="2025-03")
    scan_run(now=h.NOW)
    assert len(flags(op, "NON_RETURN_TREND")) == int(fires)


def test_trend_compares_only_consecutive_runs_with_the_same_window():
    op = h.operator()
    _run(op, "0.100000", finished=at(2025, 5, 1), cohort="2025-03")
    _run(op, "0.900000", finished=at(2025, 6, 1), cohort="2025-03", window=30)  # another window: not compared
    _run(op, "0.150000", finished=at(2025, 6, 19), cohort="2025-03")
    scan_run(now=h.NOW)
    assert flags(op, "NON_RETURN_TREND") == []
    h.rule_setting("NON_RETURN_TREND", parameters={"points": "4", "min_outbound_byn": "0"})
    scan_run(now=h.NOW)
    assert len(flags(op, "NON_RETURN_TREND")) == 1


def test_trend_rule_is_seeded_in_three_languages():
    rule = Rule.objects.get(code="NON_RETURN_TREND")
    assert all((rule.title, rule.title_en, rule.title_be, rule.explanation, rule.explanation_en, rule.explanation_be))
    assert rule.parameters["points"] == "10"


# --- UNREGISTERED_CLIENT: register due and missing ---------------------------------------------


def test_transfers_on_dates_whose_client_register_is_missing_count_with_their_case():
    op = h.operator()
    f = h.filing(op, start=date(2025, 1, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 1, 15), "OUT", "a", "10.00"), (at(2025, 4, 2), "OUT", "a", "7.00")])
    scan_run(now=h.NOW)  # Q1 register due 30.04.2025 and missing; Q2 not due yet
    [flag] = flags(op, "UNREGISTERED_CLIENT")
    e = flag.evidence
    assert e["case"] == "register_missing"
    assert (e["transfer_count"], e["value_byn"]) == (1, "10.00")
    assert e["missing_registers"] == [{"period_start": "2025-01-01", "period_end": "2025-03-31"}]


def test_a_filed_register_leaves_only_the_first_case():
    op = h.operator()
    reg = h.filing(op, kind=FilingKind.CLIENT_REGISTER, start=date(2025, 1, 1), submitted=at(2025, 4, 20))
    h.client(op, reg, "a", date(2025, 1, 1))
    f = h.filing(op, start=date(2025, 1, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 1, 15), "OUT", "a", "10.00"), (at(2025, 1, 16), "OUT", "z", "1.00")])
    scan_run(now=h.NOW)
    [flag] = flags(op, "UNREGISTERED_CLIENT")
    assert (flag.evidence["case"], flag.evidence["transfer_count"]) == ("not_in_register", 1)


def test_an_inactive_operator_owes_no_register():
    op = h.operator(status="suspended")
    f = h.filing(op, start=date(2025, 1, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 1, 15), "OUT", "a", "10.00")])
    scan_run(now=h.NOW)
    assert flags(op, "UNREGISTERED_CLIENT") == []


def test_subjects_say_the_case_and_the_cohort():
    rule_trend, rule_unreg = Rule.objects.get(code="NON_RETURN_TREND"), Rule.objects.get(code="UNREGISTERED_CLIENT")
    trend = Flag(
        rule=rule_trend,
        evidence={"cohort": "2025-03", "previous_non_return_share": "0.3", "non_return_share": "0.45", "run": 7},
    )
    assert flag_subject(trend) == "Доля невозврата когорты 2025-03: 30,0\xa0% → 45,0\xa0% (расчёт №7)"
    missing = Flag(rule=rule_unreg, evidence={"case": "register_missing"})
    assert flag_subject(missing) == "Переводы за даты, реестр клиентов за которые не подан в срок"
    assert flag_subject(Flag(rule=rule_unreg, evidence={"case": "not_in_register"})) == (
        "Переводы инвесторов, которых нет в реестре клиентов"
    )
