"""GET /api/v1/outflows/runs/{id}/filings/: the filings a run read, as it recorded them (issue 17 item 6).

Real registers through the intake, a real run (outflows.services.outflow_run_compute), a resubmission
after it; the list must be the run's record (ids and SHA-256), say which filing was superseded since,
and be read only with the `outflows` scope by agencies and the SCC, as /api/v1/outflows/runs/ is.
"""

import datetime as dt
from datetime import date

import pytest

from auditlog.models import AuditEvent
from operators.models import FilingKind, FilingStatus
from outflows.inputs import RunInputs, run_inputs, run_inputs_store
from outflows.services import outflow_run_compute
from tests.api.conftest import client_with, make_run
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

AS_OF = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
MARCH = [("M-1", "2025-03-03", "OUT", "1000.00"), ("M-2", "2025-03-20", "IN", "300.00")]
APRIL = [("A-1", "2025-04-02", "OUT", "100.00"), ("A-2", "2025-04-10", "IN", "70.00")]
APRIL_AGAIN = [("A-1", "2025-04-02", "OUT", "480.00")]


def _register(rows) -> bytes:
    lines = [TRANSFER_HEADER]
    for ext, day, direction, value in rows:
        lines.append(f"{ext},{day}T10:00:00+03:00,{direction},inv1,binance,AE,USDT,1,{value}\n")
    return "".join(lines).encode()


def _clients() -> bytes:
    return b"investor_ref,residency_country,registered_at,kyc_level\ninv1,BY,2025-01-05,standard\n"


def _april(operator, rows):
    return submit(operator, _register(rows), start=date(2025, 4, 1), end=date(2025, 4, 30)).filing


def _pull_all(client, url: str) -> list[dict]:
    rows = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url = body["next"]
    return rows


@pytest.fixture
def read(world):
    """A run over registers filed through the intake (two transfer registers and a client register of one
    operator, beside the world's own), then April resubmitted: the run read the April now superseded."""
    operator = OperatorFactory()
    march = submit(operator, _register(MARCH), start=date(2025, 3, 1), end=date(2025, 3, 31)).filing
    april = _april(operator, APRIL)
    clients = submit(operator, _clients(), kind="client_register", start=date(2025, 1, 1), end=date(2025, 3, 31))
    assert march.status == april.status == clients.filing.status == FilingStatus.ACCEPTED
    run = outflow_run_compute(as_of=AS_OF, window_days=45)
    again = _april(operator, APRIL_AGAIN)
    april.refresh_from_db()
    assert april.status == FilingStatus.SUPERSEDED
    assert again.status == FilingStatus.ACCEPTED
    world.operator, world.march, world.april, world.again = operator, march, april, again
    world.clients, world.recorded_run = clients.filing, run
    return world


def test_the_list_is_what_the_run_recorded(read):
    recorded = run_inputs(run=read.recorded_run).filings
    assert [read.march.pk, read.march.sha256] in recorded
    assert [read.april.pk, read.april.sha256] in recorded
    rows = _pull_all(client_with(read.keys["agency_all"]), f"/api/v1/outflows/runs/{read.recorded_run.pk}/filings/")
    assert [[row["filing"], row["sha256"]] for row in rows] == recorded
    by_id = {row["filing"]: row for row in rows}
    assert read.again.pk not in by_id  # accepted after the run: not read by it
    assert by_id[read.april.pk] | {"url": None} == {
        "filing": read.april.pk,
        "url": None,
        "kind": "transfer_register",
        "operator": read.operator.unp,
        "operator_id": read.operator.pk,
        "period_start": "2025-04-01",
        "period_end": "2025-04-30",
        "sha256": read.april.sha256,
        "status": "superseded",
        "current": False,
        "superseded_by": read.again.pk,
    }
    assert by_id[read.april.pk]["url"].endswith(f"/api/v1/filings/{read.april.pk}/")
    assert by_id[read.march.pk]["current"] is True
    assert by_id[read.march.pk]["superseded_by"] is None
    assert by_id[read.clients.pk]["kind"] == FilingKind.CLIENT_REGISTER == "client_register"
    assert by_id[read.clients.pk]["current"] is True


def test_pages_filters_and_the_audit_log(read):
    client = client_with(read.keys["agency_all"])
    base = f"/api/v1/outflows/runs/{read.recorded_run.pk}/filings/"
    everything = _pull_all(client, base)
    assert len(everything) >= 4  # the world's two registers and the operator's three
    assert _pull_all(client, base + "?page_size=1") == everything  # cursor pages in filing id order
    assert [row["filing"] for row in _pull_all(client, base + "?current=false")] == [read.april.pk]
    assert read.april.pk not in {row["filing"] for row in _pull_all(client, base + "?current=true")}
    assert [row["filing"] for row in _pull_all(client, base + "?kind=client_register")] == [read.clients.pk]
    assert {row["filing"] for row in _pull_all(client, base + f"?operator={read.operator.unp}")} == {
        read.march.pk,
        read.april.pk,
        read.clients.pk,
    }
    assert client.get(base + "?current=maybe").status_code == 400
    events = AuditEvent.objects.filter(action="api.pull.outflow_run_filings")
    assert events.count() == 1 + len(everything) + 4  # one page, pages of one, four filters (not the 400)
    first = events.order_by("id").first()
    assert first.details["endpoint"] == base
    assert first.details["rows"] == len(everything)


def test_the_outflows_scope_is_needed(read):
    url = f"/api/v1/outflows/runs/{read.recorded_run.pk}/filings/"
    assert client_with(read.keys["only:outflows"]).get(url).status_code == 200
    refused = client_with(read.keys["all-but:outflows"]).get(url)
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert client_with(None).get(url).status_code == 401
    assert (
        not AuditEvent.objects.filter(action="api.pull.outflow_run_filings")
        .exclude(details__contains={"role": "agency"})
        .exists()
    )


def test_operator_staff_are_refused_and_the_scc_reads(read, client):
    url = f"/api/v1/outflows/runs/{read.recorded_run.pk}/filings/"
    assert client_with(read.keys["operator_a"]).get(url).status_code == 403
    client.force_login(read.staff_a)  # a browser session of operator staff: no `outflows` scope
    assert client.get(url).status_code == 403
    client.logout()
    client.force_login(read.auditor)
    assert client.get(url).status_code == 200
    assert client_with(read.keys["auditor"]).get(url).status_code == 200


def test_a_run_without_a_record_is_a_clear_404_and_a_record_of_nothing_an_empty_list(world):
    client = client_with(world.keys["agency_all"])
    unrecorded = client.get(f"/api/v1/outflows/runs/{world.run.pk}/filings/")  # finished, kept no record
    assert unrecorded.status_code == 404
    assert unrecorded.json()["code"] == "not_recorded"
    assert "no record" in unrecorded.json()["detail"]
    for missing in (world.run.pk + 1000, 10**30):
        response = client.get(f"/api/v1/outflows/runs/{missing}/filings/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    empty = make_run()
    run_inputs_store(empty, RunInputs())  # a run that read no register recorded exactly that
    response = client.get(f"/api/v1/outflows/runs/{empty.pk}/filings/")
    assert response.status_code == 200
    assert response.json()["results"] == []
