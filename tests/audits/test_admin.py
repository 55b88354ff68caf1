"""Admin: supervisors edit the rule catalogue (logged); auditors read flags and take them through the services."""

from datetime import date

import pytest
from django.urls import reverse

from auditlog.models import AuditEvent
from audits.models import Flag, FlagStatus, Rule
from audits.services import scan_run
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


def _staff(username, group):
    u = h.user(username, group=group)
    u.is_staff = True
    u.save()
    return u


def test_supervisor_changes_a_rule_severity_but_not_its_thresholds_in_the_admin(client):
    """Thresholds and the switch change only through a published version (issue 19 item 3): the admin's
    form shows them read-only and ignores them when posted."""
    client.force_login(_staff("sup", "supervisors"))
    rule = Rule.objects.get(code="HIGH_NON_RETURN")
    before = rule.parameters
    url = reverse("admin:audits_rule_change", args=[rule.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert reverse("audits:rule_detail", args=[rule.code]) in page.content.decode()
    response = client.post(
        url,
        {
            "title": rule.title,
            "description": rule.description,
            "severity": "critical",
            "parameters": '{"threshold": "0.6"}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    rule.refresh_from_db()
    assert (rule.severity, rule.parameters, rule.enabled) == ("critical", before, True)
    event = AuditEvent.objects.get(action="admin.change", object_type="audits.rule")
    assert event.after["severity"] == "critical"
    assert "parameters" not in event.after


def test_auditor_cannot_change_rules_but_takes_flags_in_the_admin(client):
    op = h.operator()
    h.file_everything(op, until=date(2025, 5, 1))
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=op, rule__code="MISSING_FILING")
    client.force_login(_staff("aud", "auditors"))
    rule = Rule.objects.get(code="HIGH_NON_RETURN")
    client.post(reverse("admin:audits_rule_change", args=[rule.pk]), {"severity": "low", "parameters": "{}"})
    rule.refresh_from_db()
    assert rule.severity == "high"
    assert client.get(reverse("admin:audits_flag_changelist")).status_code == 200
    client.post(reverse("admin:audits_flag_changelist"), {"action": "take", "_selected_action": [flag.pk]})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.IN_REVIEW
    assert client.get(reverse("admin:auditlog_auditevent_changelist")).status_code == 200
