"""Every pull of transfers or filings is an AuditEvent naming the token, endpoint, filters and row count."""

from auditlog.models import AuditEvent
from tests.api.conftest import client_with


def test_transfer_pull_is_audited(world):
    client = client_with(world.keys["agency_all"])
    before = AuditEvent.objects.count()
    response = client.get(f"/api/v1/transfers/?operator={world.op_a.unp}&page_size=2")
    assert response.status_code == 200
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event.action == "api.pull.transfers"
    assert event.actor_username == "agency:NB all"
    assert event.details["endpoint"] == "/api/v1/transfers/"
    assert event.details["filters"] == {"operator": world.op_a.unp, "page_size": "2"}
    assert event.details["rows"] == 2
    assert event.details["token"].startswith("NB all (cop_")
    assert event.details["role"] == "agency"


def test_filing_pulls_are_audited_with_the_user(world):
    client = client_with(world.keys["operator_a"])
    client.get("/api/v1/filings/")
    client.get(f"/api/v1/filings/{world.filing_a.pk}/")
    client.get(f"/api/v1/filings/{world.filing_a.pk}/errors/")
    events = list(AuditEvent.objects.filter(action="api.pull.filings").order_by("id"))
    assert [e.details["rows"] for e in events] == [1, 1, 1]
    assert {e.actor_id for e in events} == {world.staff_a.pk}
    assert events[2].details["endpoint"].endswith("/errors/")


def test_refused_pull_is_not_a_pull(world):
    assert client_with(world.keys["only:operators"]).get("/api/v1/transfers/").status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="api.pull.").exists()
