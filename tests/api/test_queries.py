"""Bounded work: the number of SQL queries of a list request does not depend on the page size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audits.models import Flag, FlagStatus, Rule
from operators.models import FilingError, ForeignPlatform, RegistrationFiling
from outflows.models import OutflowRun, OutflowStat
from tests.api.conftest import client_with, make_filing, make_run, make_transfers
from tests.factories import OperatorFactory

N = 110


@pytest.fixture
def big_world(world):
    w = world
    OperatorFactory.create_batch(N)
    ForeignPlatform.objects.bulk_create([ForeignPlatform(slug=f"p{i}", name=f"P{i}", country="AE") for i in range(N)])
    RegistrationFiling.objects.bulk_create(
        [
            RegistrationFiling(
                operator=w.op_a,
                kind="transfer_register",
                period_start=w.filing_a.period_start,
                period_end=w.filing_a.period_end,
                sha256=f"{i:064d}",
                file="x",
            )
            for i in range(N)
        ]
    )
    rule = Rule.objects.order_by("id").first()
    Flag.objects.bulk_create(
        [
            Flag(
                operator=w.op_a,
                rule=rule,
                fingerprint=f"{i:064d}",
                subject="s",
                severity="low",
                status=FlagStatus.CONFIRMED,
            )
            for i in range(N)
        ]
    )
    FilingError.objects.bulk_create(
        [FilingError(filing=w.filing_a, row=i, code="required", message_ru="r", message_en="e") for i in range(N)]
    )
    make_transfers(w.op_b, make_filing(w.op_b, sha256="2" * 64), w.platform, N)
    OutflowRun.objects.bulk_create([OutflowRun(as_of=w.run.as_of, status="queued") for _ in range(N)])
    latest = make_run()
    OutflowStat.objects.bulk_create(
        [
            OutflowStat(
                run=latest,
                dimension="operator",
                key=f"{i:09d}",
                cohort="all",
                outbound_value_byn=Decimal(1),
                returned_value_byn=Decimal(0),
                unreturned_value_byn=Decimal(1),
                non_return_share=Decimal(1),
                pending_outbound_value_byn=Decimal(0),
                pending_returned_value_byn=Decimal(0),
                outbound_count=1,
            )
            for i in range(N)
        ]
    )
    return w


LISTS = [
    ("agency_all", lambda w: "/api/v1/operators/"),
    ("agency_all", lambda w: "/api/v1/platforms/"),
    ("agency_all", lambda w: "/api/v1/filings/"),
    ("operator_a", lambda w: "/api/v1/filings/"),
    ("agency_all", lambda w: f"/api/v1/filings/{w.filing_a.pk}/errors/"),
    ("agency_all", lambda w: "/api/v1/flags/"),
    ("operator_a", lambda w: "/api/v1/flags/"),
    ("agency_all", lambda w: "/api/v1/transfers/"),
    ("auditor", lambda w: "/api/v1/transfers/"),
    ("agency_all", lambda w: "/api/v1/outflows/runs/"),
    ("agency_all", lambda w: "/api/v1/outflows/stats/"),
]


def _queries(client, url: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries), len(response.json()["results"])


@pytest.mark.parametrize(("who", "url"), LISTS, ids=[f"{w}-{i}" for i, (w, _) in enumerate(LISTS)])
def test_query_count_does_not_grow_with_page_size(big_world, who, url):
    client = client_with(big_world.keys[who])
    path = url(big_world)
    client.get(f"{path}?page_size=1")  # warm-up: the first use of a token records last_used_at
    small, small_rows = _queries(client, f"{path}?page_size=1")
    large, large_rows = _queries(client, f"{path}?page_size=100")
    assert (small_rows, large_rows) == (1, 100)
    assert small == large, f"{small} queries for 1 row, {large} for 100"
    assert large <= 12
