"""A rule version's backtest asked for on its page runs on a real Celery worker (Redis, test database)."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from audits.models import Flag, RuleVersion
from audits.services.versions import versions_seed
from tests.audits import helpers as h
from tests.audits.test_rule_versions import CODE, _fields, _run
from tests.conftest import wait_for

pytestmark = [pytest.mark.celery]


@pytest.mark.usefixtures("transactional_db")
def test_backtest_asked_on_the_page_runs_on_the_worker(celery_worker_process, client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    h.seed_catalogue()
    versions_seed()  # version 1 of the rules put back after the flush (the pages and the scan do it too)
    a, b = h.operator(name="Оператор A"), h.operator(name="Оператор B")
    _run(datetime(2025, 5, 10, 12, tzinfo=UTC), {a: ("0.40", 5000), b: ("0.90", 1000)})
    client.force_login(h.user("sup9", group="supervisors"))
    response = client.post(
        reverse("audits:rule_draft", args=[CODE]),
        {**_fields(threshold="0,3", min_outbound_byn="2000"), "enabled": "on", "note": "порог"},
    )
    assert response.status_code == 302
    draft = RuleVersion.objects.get(rule__code=CODE, status="draft")
    response = client.post(
        reverse("audits:rule_backtest", args=[CODE, draft.number]),
        {"date_from": date(2025, 4, 1).isoformat(), "date_to": date(2025, 12, 31).isoformat()},
    )
    assert response.status_code == 302
    done = wait_for(
        lambda: RuleVersion.objects.filter(pk=draft.pk, backtest_status__in=["finished", "failed"]).first(),
        timeout=90,
    )
    assert done.backtest_status == "finished", done.backtest
    assert [(e["unp"], e["flag"]) for e in done.backtest["open"]] == [(a.unp, None)]
    assert [e["unp"] for e in done.backtest["close"]] == [b.unp]
    assert not Flag.objects.exists()  # a backtest writes no flag
    page = client.get(reverse("audits:rule_detail", args=[CODE])).content.decode()
    assert 'id="backtest-open"' in page
    assert "01.04.2025–31.12.2025" in page
