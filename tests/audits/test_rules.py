"""Each rule of DESIGN section 6: a case that must flag and a close case that must not."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from audits.models import Flag, HighRiskCountry
from audits.services import scan_run
from operators.models import FilingKind, FilingStatus, OperatorProfileRecord
from outflows.models import Dimension, OutflowRun, OutflowStat, RunStatus
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


def flags(op, code):
    return list(Flag.objects.filter(operator=op, rule__code=code).exclude(status="cleared"))


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


# --- filings -------------------------------------------------------------------


def _all_but_may(op):
    h.file_everything(op, until=date(2025, 5, 1))  # Jan-Apr monthly and Q1


def test_missing_filing_flags_a_period_past_its_due_date():
    op = h.operator()
    _all_but_may(op)
    scan_run(now=h.NOW)  # 2025-06-20
    [flag] = flags(op, "MISSING_FILING")
    # 15 June 2025 is a Sunday: the due date moves to Monday 16 June.
    assert flag.evidence["kind"] == "transfer_register"
    assert flag.evidence["period_start"] == "2025-05-01"
    assert flag.evidence["due_date"] == "2025-06-16"
    assert flag.evidence["days_overdue"] == 4


def test_missing_filing_not_flagged_on_the_due_date_itself():
    op = h.operator()
    _all_but_may(op)
    scan_run(now=at(2025, 6, 16, 9))
    assert flags(op, "MISSING_FILING") == []


def test_missing_filing_counts_only_accepted_filings_and_only_active_operators():
    op = h.operator()
    _all_but_may(op)
    h.filing(op, start=date(2025, 5, 1), status=FilingStatus.REJECTED, submitted=at(2025, 6, 2))
    excluded = h.operator(status="excluded")
    scan_run(now=h.NOW)
    [flag] = flags(op, "MISSING_FILING")
    assert len(flag.evidence["unaccepted_filings"]) == 1
    assert flags(excluded, "MISSING_FILING") == []


def test_missing_filing_owes_nothing_before_htp_registration():
    op = h.operator(htp_registered_on=date(2025, 6, 1))
    scan_run(now=h.NOW)
    assert flags(op, "MISSING_FILING") == []


def test_late_filing_flags_a_filing_after_the_moved_due_date():
    op = h.operator()
    _all_but_may(op)
    f = h.filing(op, start=date(2025, 5, 1), submitted=at(2025, 6, 17, 8))
    scan_run(now=h.NOW)
    [flag] = flags(op, "LATE_FILING")
    assert flag.evidence["filing"] == f.pk
    assert flag.evidence["due_date"] == "2025-06-16"
    assert flag.evidence["days_late"] == 1


def test_late_filing_not_flagged_on_the_moved_due_date():
    op = h.operator()
    _all_but_may(op)
    h.filing(op, start=date(2025, 5, 1), submitted=at(2025, 6, 16, 20))  # 23:00 Minsk, still the 16th
    scan_run(now=h.NOW)
    assert flags(op, "LATE_FILING") == []


def test_rejected_not_resubmitted_within_ten_days():
    op = h.operator()
    r = h.filing(op, start=date(2025, 4, 1), status=FilingStatus.REJECTED, submitted=at(2025, 5, 1))
    a = h.filing(op, start=date(2025, 4, 1), submitted=at(2025, 5, 20))
    scan_run(now=h.NOW)
    [flag] = flags(op, "REJECTED_NOT_RESUBMITTED")
    assert flag.evidence["rejected_filings"] == [r.pk]
    assert flag.evidence["accepted_later"] == [a.pk]


def test_rejected_and_resubmitted_within_ten_days_is_fine():
    op = h.operator()
    h.filing(op, start=date(2025, 4, 1), status=FilingStatus.REJECTED, submitted=at(2025, 5, 1))
    h.filing(op, start=date(2025, 4, 1), submitted=at(2025, 5, 10))
    scan_run(now=h.NOW)
    assert flags(op, "REJECTED_NOT_RESUBMITTED") == []


def test_rejected_still_within_its_ten_days_is_not_flagged_yet():
    op = h.operator()
    h.filing(op, start=date(2025, 5, 1), status=FilingStatus.REJECTED, submitted=at(2025, 6, 15))
    scan_run(now=h.NOW)
    assert flags(op, "REJECTED_NOT_RESUBMITTED") == []


def _with_totals(op, *, declared_out, declared_in="50.00", declared_rows=2):
    plat = h.platform()
    f = h.filing(
        op,
        start=date(2025, 3, 1),
        declared_rows=declared_rows,
        rows_total=2,
        rows_imported=2,
        declared_out_byn=Decimal(declared_out),
        declared_in_byn=Decimal(declared_in),
    )
    h.transfers(op, f, plat, [(at(2025, 3, 5), "OUT", "i1", "100.00"), (at(2025, 3, 6), "IN", "i1", "50.00")])
    return f


@pytest.fixture
def recount():
    h.rule_setting("DECLARED_TOTALS_MISMATCH", parameters={"value_tolerance_byn": "0", "recount_transfers": True})


@pytest.mark.usefixtures("recount")
def test_declared_totals_mismatch_recounted_from_transfers_flags_a_cent():
    op = h.operator()
    f = _with_totals(op, declared_out="100.01")
    scan_run(now=h.NOW)
    [flag] = flags(op, "DECLARED_TOTALS_MISMATCH")
    assert flag.evidence["filing"] == f.pk
    assert flag.evidence["differences"] == {
        "out_byn": {
            "declared": "100.01",
            "actual": "100.00",
            "difference": "0.01",
            "source": "transfers",
            "rows": {"list": "transfers", "filters": {"filing": str(f.pk), "direction": "OUT"}},
        }
    }


def test_declared_totals_that_match_are_fine():
    op = h.operator()
    _with_totals(op, declared_out="100.00")
    scan_run(now=h.NOW)
    assert flags(op, "DECLARED_TOTALS_MISMATCH") == []


def test_declared_row_count_mismatch():
    op = h.operator()
    _with_totals(op, declared_out="100.00", declared_rows=3)
    scan_run(now=h.NOW)
    [flag] = flags(op, "DECLARED_TOTALS_MISMATCH")
    assert flag.evidence["differences"] == {"rows": {"declared": 3, "actual": 2}}


def _profile(op, **changes):
    f = h.filing(op, kind=FilingKind.OPERATOR_PROFILE, start=date(2024, 1, 1), submitted=at(2025, 1, 20))
    fields = {
        k: getattr(op, k) for k in ("unp", "name", "htp_certificate_no", "htp_certificate_valid_until", "activity")
    }
    fields.update(changes)
    OperatorProfileRecord.objects.create(operator=op, filing=f, **fields)


def test_profile_mismatch_flags_a_different_certificate():
    op = h.operator(htp_certificate_no="HTP-100")
    _profile(op, htp_certificate_no="HTP-999")
    scan_run(now=h.NOW)
    [flag] = flags(op, "PROFILE_MISMATCH")
    assert flag.evidence["differences"] == {"htp_certificate_no": {"filed": "HTP-999", "registry": "HTP-100"}}


def test_profile_differing_only_in_case_and_quotes_is_fine():
    op = h.operator(name='ООО "Крипто Плюс"')
    _profile(op, name="ооо  «КРИПТО ПЛЮС»")
    scan_run(now=h.NOW)
    assert flags(op, "PROFILE_MISMATCH") == []


# --- transfers -----------------------------------------------------------------


def test_certificate_expired_while_active():
    op = h.operator(htp_certificate_valid_until=date(2025, 6, 1))
    scan_run(now=h.NOW)
    [flag] = flags(op, "CERTIFICATE_EXPIRED")
    assert flag.evidence["days_since_expiry"] == 19


def test_certificate_valid_through_today_is_fine():
    op = h.operator(htp_certificate_valid_until=date(2025, 6, 20))
    scan_run(now=h.NOW)
    assert flags(op, "CERTIFICATE_EXPIRED") == []


def test_certificate_expired_transfers_after_expiry_in_minsk_time():
    op = h.operator(htp_certificate_valid_until=date(2025, 3, 31), status="suspended")
    f = h.filing(op, start=date(2025, 4, 1))
    # 21:30 UTC on 31 March is 00:30 on 1 April in Minsk: after expiry.
    h.transfers(op, f, h.platform(), [(at(2025, 3, 31, 21, 30), "OUT", "i1", "10.00")])
    scan_run(now=h.NOW)
    [flag] = flags(op, "CERTIFICATE_EXPIRED")
    assert flag.evidence["transfer_count"] == 1
    assert flag.evidence["value_byn"] == "10.00"


def test_certificate_transfers_on_the_last_valid_day_are_fine():
    op = h.operator(htp_certificate_valid_until=date(2025, 3, 31), status="suspended")
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 3, 31, 20, 30), "OUT", "i1", "10.00")])  # 23:30 Minsk
    scan_run(now=h.NOW)
    assert flags(op, "CERTIFICATE_EXPIRED") == []


def _client_register(op):
    reg = h.filing(op, kind=FilingKind.CLIENT_REGISTER, start=date(2025, 1, 1), submitted=at(2025, 4, 20))
    h.client(op, reg, "inv1", date(2025, 2, 1))
    return h.filing(op, start=date(2025, 1, 1))


def test_unregistered_client_before_registration_and_unknown_investor():
    op = h.operator()
    f = _client_register(op)
    h.transfers(
        op,
        f,
        h.platform(),
        [
            (at(2025, 1, 15), "OUT", "inv1", "10.00"),  # before inv1 was registered
            (at(2025, 3, 1), "OUT", "inv9", "5.00"),  # never registered
        ],
    )
    scan_run(now=h.NOW)
    [flag] = flags(op, "UNREGISTERED_CLIENT")
    assert flag.evidence["transfer_count"] == 2
    assert flag.evidence["example_investor_ref"] == "inv1"
    assert flag.evidence["value_byn"] == "15.00"


def test_registered_client_and_not_yet_covered_dates_are_fine():
    op = h.operator()
    f = _client_register(op)
    h.transfers(
        op,
        f,
        h.platform(),
        [
            (at(2025, 1, 31, 21, 30), "OUT", "inv1", "10.00"),  # 1 Feb in Minsk: registered that day
            (at(2025, 4, 10), "OUT", "inv2", "10.00"),  # Q2 register not due yet
        ],
    )
    scan_run(now=h.NOW)
    assert flags(op, "UNREGISTERED_CLIENT") == []


def test_unknown_platform_flags_unverified_platform_per_platform():
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("shady", verified=False), [(at(2025, 3, 5), "OUT", "i1", "7.00")] * 2)
    h.transfers(op, f, h.platform("binance"), [(at(2025, 3, 5), "OUT", "i1", "7.00")])
    scan_run(now=h.NOW)
    [flag] = flags(op, "UNKNOWN_PLATFORM")
    assert flag.evidence["platform"] == "shady"
    assert flag.evidence["transfer_count"] == 2


def test_verified_platform_is_fine():
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("binance"), [(at(2025, 3, 5), "OUT", "i1", "7.00")])
    scan_run(now=h.NOW)
    assert flags(op, "UNKNOWN_PLATFORM") == []


def test_high_risk_jurisdiction_flags_country_on_the_list():
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("irx", country="IR"), [(at(2025, 3, 5), "OUT", "i1", "7.00")])
    h.transfers(op, f, h.platform("iry", country="IR"), [(at(2025, 3, 5), "IN", "i1", "3.00")])
    scan_run(now=h.NOW)
    [flag] = flags(op, "HIGH_RISK_JURISDICTION")
    assert flag.evidence["country"] == "IR"
    assert flag.evidence["list"] == "call_for_action"
    assert flag.evidence["out_value_byn"] == "7.00"
    assert [p["platform"] for p in flag.evidence["platforms"]] == ["irx", "iry"]


def test_country_off_the_list_is_fine_and_the_list_is_editable():
    op = h.operator()
    f = h.filing(op, start=date(2025, 3, 1))
    h.transfers(op, f, h.platform("aex", country="AE"), [(at(2025, 3, 5), "OUT", "i1", "7.00")])
    h.transfers(op, f, h.platform("irx", country="IR"), [(at(2025, 3, 5), "OUT", "i1", "7.00")])
    HighRiskCountry.objects.filter(country="IR").update(active=False)
    scan_run(now=h.NOW)
    assert flags(op, "HIGH_RISK_JURISDICTION") == []


def _run_with_share(op, share, *, finished):
    run = OutflowRun.objects.create(as_of=finished, status=RunStatus.FINISHED, finished_at=finished)
    out = Decimal(1000)
    ret = (out * (1 - Decimal(share))).quantize(Decimal("0.01"))
    OutflowStat.objects.create(
        run=run,
        dimension=Dimension.OPERATOR,
        key=op.unp,
        cohort="all",
        outbound_value_byn=out,
        returned_value_byn=ret,
        unreturned_value_byn=out - ret,
        non_return_share=Decimal(share),
        pending_outbound_value_byn=0,
        pending_returned_value_byn=0,
        outbound_count=10,
    )
    return run


def test_high_non_return_over_half_in_the_latest_run():
    op = h.operator()
    run = _run_with_share(op, "0.550000", finished=at(2025, 6, 19))
    scan_run(now=h.NOW)
    [flag] = flags(op, "HIGH_NON_RETURN")
    assert flag.evidence["run"] == run.pk
    assert flag.evidence["non_return_share"] == "0.550000"


def test_high_non_return_exactly_half_or_only_in_an_older_run_is_fine():
    op = h.operator()
    _run_with_share(op, "0.900000", finished=at(2025, 6, 1))
    _run_with_share(op, "0.500000", finished=at(2025, 6, 19))
    scan_run(now=h.NOW)
    assert flags(op, "HIGH_NON_RETURN") == []


def test_declared_totals_mismatch_found_by_the_intake_is_flagged():
    op = h.operator()
    h.filing(
        op,
        start=date(2025, 3, 1),
        declared_out_byn=Decimal("10.00"),
        rows_total=3,
        rows_skipped=3,
        warnings=[
            {"code": "declared_totals_mismatch", "field": "declared_out_byn", "declared": "10.00", "actual": "12.00"}
        ],
    )
    scan_run(now=h.NOW)
    [flag] = flags(op, "DECLARED_TOTALS_MISMATCH")
    assert flag.evidence["differences"]["out_byn"] == {"declared": "10.00", "actual": "12.00", "source": "intake"}
