"""UNREGISTERED_CLIENT's PostgreSQL form (instants) and the portable form (Minsk dates) agree,
also at the midnight boundaries in Minsk."""

from datetime import UTC, date, datetime

import pytest

from audits.rules.summary import unregistered_by_operator
from operators.models import FilingKind
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


def test_instants_and_minsk_dates_give_the_same_unregistered_transfers():
    ops = [h.operator(), h.operator()]
    plat = h.platform()
    for op in ops:
        reg = h.filing(op, kind=FilingKind.CLIENT_REGISTER, start=date(2025, 1, 1))  # covers to 31 March
        h.client(op, reg, "inv1", date(2025, 2, 1))
        h.client(op, reg, "inv1", date(2025, 1, 10))  # listed twice: the earliest date counts
        f = h.filing(op, start=date(2025, 1, 1))
        h.transfers(
            op,
            f,
            plat,
            [
                (datetime(2025, 1, 9, 20, 59, tzinfo=UTC), "OUT", "inv1", "1.00"),  # 23:59 on 9 Jan in Minsk
                (datetime(2025, 1, 9, 21, 0, tzinfo=UTC), "OUT", "inv1", "2.00"),  # 00:00 on 10 Jan: registered
                (datetime(2025, 3, 31, 20, 59, tzinfo=UTC), "IN", "inv2", "4.00"),  # last covered minute
                (datetime(2025, 3, 31, 21, 0, tzinfo=UTC), "OUT", "inv2", "8.00"),  # 1 April: not covered yet
            ],
        )
    fast = sorted(unregistered_by_operator(instants=True), key=lambda r: r["operator_id"])
    portable = sorted(unregistered_by_operator(instants=False), key=lambda r: r["operator_id"])
    assert fast == portable
    assert [(r["n"], r["value"]) for r in fast] == [(2, 5), (2, 5)]
