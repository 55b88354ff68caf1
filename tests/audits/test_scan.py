"""The scan: idempotent, clears vanished conditions, never undoes an auditor's decision, one at a time."""

import json
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audits.models import Flag, FlagStatus, OperatorRisk, Rule
from audits.services import SCAN_LOCK_KEY, ScanAlreadyRunning, flag_confirm, flag_dismiss, flag_refer, scan_run
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


@pytest.fixture
def auditor():
    return h.user("auditor1", group="auditors")


def _unknown_platform(op, n=2, value="10.00"):
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("shady", verified=False), [(at(2025, 3, 5), "OUT", "i1", value)] * n)
    return f


def test_second_scan_changes_nothing():
    op = h.operator()
    _unknown_platform(op)
    first = scan_run(now=h.NOW)
    assert first.opened >= 2  # MISSING_FILING periods and UNKNOWN_PLATFORM
    before = list(Flag.objects.order_by("id").values())
    second = scan_run(now=h.NOW)
    assert (second.opened, second.cleared, second.kept) == (0, 0, first.opened)
    assert list(Flag.objects.order_by("id").values()) == before


def test_flag_is_cleared_when_the_condition_goes_and_reopens_when_it_returns():
    op = h.operator()
    h.file_everything(op, until=date(2025, 5, 1))
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=op, rule__code="MISSING_FILING")
    may = h.filing(op, start=date(2025, 5, 1), submitted=at(2025, 6, 10))
    result = scan_run(now=h.NOW)
    assert result.cleared == 1
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CLEARED
    may.status = "rejected"
    may.save()
    result = scan_run(now=h.NOW)
    assert result.opened == 1
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN  # the same flag, not a duplicate
    assert Flag.objects.filter(operator=op, rule__code="MISSING_FILING").count() == 1


@pytest.mark.parametrize("decide", ["confirm", "dismiss", "refer"])
def test_decision_survives_a_rescan_even_when_the_condition_goes(auditor, decide):
    op = h.operator()
    h.file_everything(op, until=date(2025, 5, 1))
    Rule.objects.filter(code="MISSING_FILING").update(severity="medium")  # one auditor decides it
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=op, rule__code="MISSING_FILING")
    if decide == "confirm":
        flag_confirm(flag=flag, actor=auditor)
    elif decide == "dismiss":
        flag_dismiss(flag=flag, actor=auditor, reason="filed on paper")
    else:
        flag_refer(flag=flag, actor=auditor, agency="tax", reason="pattern")
    decided = Flag.objects.values().get(pk=flag.pk)
    scan_run(now=h.NOW)
    h.filing(op, start=date(2025, 5, 1), submitted=at(2025, 6, 10))  # condition goes away
    scan_run(now=h.NOW)
    assert Flag.objects.values().get(pk=flag.pk) == decided


def test_dismissed_flag_comes_back_only_on_material_change(auditor):
    op = h.operator()
    f = _unknown_platform(op, n=10)
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=op, rule__code="UNKNOWN_PLATFORM")
    flag_dismiss(flag=flag, actor=auditor, reason="platform is being verified")
    plat = h.platform("shady")
    h.transfers(op, f, plat, [(at(2025, 3, 6), "OUT", "i1", "10.00")])  # 11 vs 10: +10%
    scan_run(now=h.NOW)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED
    h.transfers(op, f, plat, [(at(2025, 3, 7), "OUT", "i1", "10.00")] * 5)  # 16 vs 10: material
    result = scan_run(now=h.NOW)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN
    assert result.opened == 1
    assert flag.evidence["transfer_count"] == 16


def test_evidence_of_an_open_flag_is_updated():
    op = h.operator()
    f = _unknown_platform(op, n=2)
    scan_run(now=h.NOW)
    h.transfers(op, f, h.platform("shady"), [(at(2025, 3, 6), "OUT", "i1", "1.00")])
    result = scan_run(now=h.NOW)
    assert result.opened == 0
    flag = Flag.objects.get(operator=op, rule__code="UNKNOWN_PLATFORM")
    assert flag.evidence["transfer_count"] == 3
    assert flag.status == FlagStatus.OPEN


def test_disabled_rule_opens_nothing():

    h.rule_setting("UNKNOWN_PLATFORM", enabled=False)
    op = h.operator()
    _unknown_platform(op)
    scan_run(now=h.NOW)
    assert not Flag.objects.filter(rule__code="UNKNOWN_PLATFORM").exists()


def test_only_one_scan_at_a_time():
    cache.add(SCAN_LOCK_KEY, "someone-else", timeout=60)
    try:
        with pytest.raises(ScanAlreadyRunning):
            scan_run(now=h.NOW)
    finally:
        cache.delete(SCAN_LOCK_KEY)
    scan_run(now=h.NOW)  # free again
    assert cache.get(SCAN_LOCK_KEY) is None


def _population(n):
    plat_bad = h.platform("shady", verified=False)
    plat_ir = h.platform("irx", country="IR")
    for _ in range(n):
        op = h.operator()
        f = h.filing(op, start=date(2025, 3, 1), declared_rows=5, rows_total=2)
        h.transfers(op, f, plat_bad, [(at(2025, 3, 5), "OUT", "i1", "1.00")])
        h.transfers(op, f, plat_ir, [(at(2025, 3, 5), "OUT", "i1", "1.00")])


def test_queries_per_scan_do_not_grow_with_operators():
    counts = []
    for n in (3, 12):
        _population(n)
        with CaptureQueriesContext(connection) as ctx:
            scan_run(now=h.NOW)
        counts.append(len(ctx.captured_queries))
        Flag.objects.all().delete()
        OperatorRisk.objects.all().delete()
    assert counts[0] == counts[1], counts


def test_risk_score_orders_operators_and_explains_itself(auditor):
    calm, risky = h.operator(), h.operator()
    h.file_everything(calm)
    _unknown_platform(risky)
    scan_run(now=h.NOW)
    flag = Flag.objects.filter(operator=risky, rule__code="UNKNOWN_PLATFORM").get()
    flag_confirm(flag=flag, actor=auditor)
    scan_run(now=h.NOW)
    risk = OperatorRisk.objects.get(operator=risky)
    assert OperatorRisk.objects.get(operator=calm).score == 0
    assert risk.score > 0
    assert {p["flag"] for p in risk.explanation} == set(
        Flag.objects.filter(operator=risky).exclude(status="cleared").values_list("id", flat=True)
    )
    confirmed = next(p for p in risk.explanation if p["flag"] == flag.pk)
    assert confirmed["points"] == "4.50"  # medium 3 x confirmed 1.5 x fresh 1.0


def test_scan_violations_json_shape():
    op = h.operator(unp="191234563")
    _unknown_platform(op)
    out = StringIO()
    call_command("scan_violations", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert set(payload) == {"opened", "kept", "cleared", "flags"}
    assert payload["opened"] == len(payload["flags"]) > 0
    assert payload["kept"] == payload["cleared"] == 0
    for item in payload["flags"]:
        assert set(item) == {"id", "operator", "rule", "severity", "status", "fingerprint"}
        assert item["operator"] == "191234563"
        assert item["status"] == "open"
        assert len(item["fingerprint"]) == 64
    assert "UNKNOWN_PLATFORM" in {i["rule"] for i in payload["flags"]}
    out = StringIO()
    call_command("scan_violations", "--json", stdout=out)
    again = json.loads(out.getvalue())
    assert (again["opened"], again["cleared"], again["kept"]) == (0, 0, payload["opened"])
    assert again["flags"] == payload["flags"]
