"""Coverage of a run by the transfer registers, and its bootstrap interval (issue 17, items 4 and 5)."""

from datetime import UTC, date, datetime

import pytest

from operators.models import FilingStatus
from outflows import coverage
from outflows.services import outflow_run_compute
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


def at(y, m, d, hh=12):
    return datetime(y, m, d, hh, tzinfo=UTC)


def _operator_with_gaps():
    """Jan on time, Feb late, Mar resubmitted, Apr never filed, May on time; June not due on 20.06.2025."""
    op = h.operator()
    jan = h.filing(op, start=date(2025, 1, 1))
    h.filing(op, start=date(2025, 2, 1), submitted=at(2025, 3, 20))
    h.filing(op, start=date(2025, 3, 1), status=FilingStatus.SUPERSEDED)
    mar = h.filing(op, start=date(2025, 3, 1))
    may = h.filing(op, start=date(2025, 5, 1))
    plat = h.platform()
    h.transfers(op, jan, plat, [(at(2025, 1, 10), "OUT", "i1", "100.00")])  # its window: Jan-Mar, all filed
    h.transfers(op, mar, plat, [(at(2025, 3, 5), "OUT", "i2", "40.00")])  # window reaches April: missing
    h.transfers(op, may, plat, [(at(2025, 5, 1), "OUT", "i3", "20.00")])  # May and June (not due yet)
    return op


def test_each_operator_month_has_its_state_and_the_complete_share():
    op = _operator_with_gaps()
    good = h.operator()
    h.file_everything(good, until=date(2025, 6, 20))
    run = outflow_run_compute(as_of=h.NOW, window_days=30)
    cov = run.coverage
    assert cov["months"] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    mine = cov["operators"][op.unp]
    assert mine["states"] == {
        "2025-01": coverage.ACCEPTED,
        "2025-02": coverage.LATE,
        "2025-03": coverage.SUPERSEDED,
        "2025-04": coverage.MISSING,
        "2025-05": coverage.ACCEPTED,
        "2025-06": coverage.NOT_DUE,
    }
    assert mine["missing"] == ["2025-04"]
    assert mine["late"] == ["2025-02"]
    assert mine["superseded"] == ["2025-03"]
    assert (mine["outbound_byn"], mine["complete_byn"], mine["complete_share"]) == ("160.00", "120.00", "0.750000")
    assert cov["gaps"] == [op.unp]
    assert cov["operators"][good.unp]["missing"] == []
    assert (cov["outbound_byn"], cov["complete_share"]) == ("160.00", "0.750000")


def test_a_register_filed_after_the_run_does_not_change_it_and_a_new_run_sees_it():
    op = _operator_with_gaps()
    first = outflow_run_compute(as_of=h.NOW, window_days=30)
    h.filing(op, start=date(2025, 4, 1), submitted=at(2025, 6, 21))
    second = outflow_run_compute(as_of=h.NOW, window_days=30)
    first.refresh_from_db()
    assert first.coverage["operators"][op.unp]["states"]["2025-04"] == coverage.MISSING
    assert second.coverage["operators"][op.unp]["states"]["2025-04"] == coverage.LATE
    assert second.coverage["complete_share"] == "1.000000"
    assert second.coverage["gaps"] == []


def test_run_stores_the_bootstrap_interval_and_partitions_agree():
    op = h.operator()
    f = h.filing(op, start=date(2025, 1, 1))
    plat = h.platform()
    rows = []
    for i in range(40):
        rows.append((at(2025, 1, 2 + i % 20), "OUT", f"inv{i}", f"{100 + i}.00"))
        if i % 3:
            rows.append((at(2025, 1, 25), "IN", f"inv{i}", f"{50 + i}.00"))
    h.transfers(op, f, plat, rows)
    one = outflow_run_compute(as_of=h.NOW, window_days=30)
    three = outflow_run_compute(as_of=h.NOW, window_days=30, partitions=3)
    found = one.uncertainty
    assert found["resamples"] == 200
    assert found["method"] == "poisson-bootstrap-investors"
    share = one.stats.get(dimension="operator", key=op.unp, cohort="all").non_return_share
    entry = found["operators"][op.unp]
    assert float(entry["low"]) <= float(share) <= float(entry["high"])
    assert entry["low"] < entry["high"]
    assert entry["investors"] == 40
    assert found["overall"]["investors"] == 40
    assert three.uncertainty == found  # same weights per investor whatever the partitions


def test_months_before_the_operator_owed_registers_are_not_gaps():
    """Registered with the HTP on 15.03.2025: March is not owed (April is its first month), yet counted."""
    op = h.operator(htp_registered_on=date(2025, 3, 15))
    f = h.filing(op, start=date(2025, 4, 1))
    h.filing(op, start=date(2025, 5, 1))
    h.transfers(op, f, h.platform(), [(at(2025, 3, 20), "OUT", "i1", "10.00"), (at(2025, 4, 2), "OUT", "i2", "5.00")])
    run = outflow_run_compute(as_of=h.NOW, window_days=30)
    mine = run.coverage["operators"][op.unp]
    assert mine["states"] == {
        "2025-03": coverage.NOT_OWED,
        "2025-04": coverage.ACCEPTED,
        "2025-05": coverage.ACCEPTED,
        "2025-06": coverage.NOT_DUE,
    }
    assert (mine["missing"], mine["complete_share"]) == ([], "1.000000")
