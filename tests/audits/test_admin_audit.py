"""Admin changes, admin exports, failed logins and failed second-factor codes reach the audit log,
each exactly once (issue 14, item 5)."""

import json

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from api.models import ApiToken
from auditlog.models import AuditEvent
from audits.models import HighRiskCountry, Rule
from operators.models import FilingCalendar, Operator
from operators.resources import OperatorResource
from operators.roles import AUDITORS
from tests.audits.otp_login import login_verified
from tests.factories import OperatorFactory, UserFactory, auditor, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.OTP_REQUIRED_FOR_SCC = True


@pytest.fixture
def sup(client):
    user = supervisor(username="sup")
    login_verified(client, user)
    return user


class AdminEvents:
    """The admin.* events written since the last look."""

    def __init__(self):
        self.seen = self._last()

    @staticmethod
    def _last() -> int:
        last = AuditEvent.objects.order_by("-id").first()
        return last.pk if last else 0

    def new(self) -> list[AuditEvent]:
        events = list(AuditEvent.objects.filter(pk__gt=self.seen, action__startswith="admin.").order_by("id"))
        self.seen = self._last()
        return events


def _errors(response) -> str:
    """The form's errors of an admin page answered 200 instead of a redirect."""
    context = getattr(response, "context", None) or {}
    form = context.get("adminform")
    return str(form.form.errors) if form is not None else _errors(response)


def _one(events: list[AuditEvent], action: str, model: str) -> AuditEvent:
    assert [(e.action, e.details["model"]) for e in events] == [(action, model)]
    return events[0]


def test_user_changes_are_logged_once_each_without_the_password(client, sup):
    log = AdminEvents()
    roles = Group.objects.get(name=AUDITORS)
    secret = "Sturdy-pass-2025!"
    response = client.post(
        reverse("admin:auth_user_add"),
        {"username": "newcomer", "usable_password": "true", "password1": secret, "password2": secret},
    )
    assert response.status_code == 302, _errors(response)
    user = User.objects.get(username="newcomer")
    added = _one(log.new(), "admin.add", "auth.user")
    assert added.actor_id == sup.pk
    assert added.object_id == str(user.pk)

    response = client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {
            "username": "newcomer",
            "first_name": "Анна",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "groups": [str(roles.pk)],
        },
    )
    assert response.status_code == 302, _errors(response)
    changed = _one(log.new(), "admin.change", "auth.user")
    assert changed.details["fields"] == ["first_name", "groups"]
    assert changed.before["groups"] == []
    assert changed.after["groups"] == [AUDITORS]
    assert "is_staff" not in changed.details["fields"]  # derived from the role, not a field of the form

    response = client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"usable_password": "true", "password1": "Another-pass-2025!", "password2": "Another-pass-2025!"},
    )
    assert response.status_code == 302, _errors(response)
    password = _one(log.new(), "admin.change", "auth.user")
    assert password.details["fields"] == ["password"]

    response = client.post(reverse("admin:auth_user_delete", args=[user.pk]), {"post": "yes"})
    assert response.status_code == 302
    deleted = _one(log.new(), "admin.delete", "auth.user")
    assert deleted.before["username"] == "newcomer"

    dumped = json.dumps([e.before or e.after or e.details for e in (added, changed, password, deleted)])
    for text in (secret, "Another-pass-2025!", "pbkdf2", "argon2"):
        assert text not in dumped


def test_group_changes_are_logged(client):
    root = User.objects.create_superuser("root", password="root-pass-2025!")
    login_verified(client, root)
    log = AdminEvents()
    group = Group.objects.create(name="helpdesk")
    permission = Permission.objects.get(codename="view_operator")
    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), {"name": "helpdesk", "permissions": [permission.pk]}
    )
    assert response.status_code == 302, _errors(response)
    event = _one(log.new(), "admin.change", "auth.group")
    assert event.after == {"permissions": [str(permission)]}


def test_a_token_created_and_revoked_in_the_admin_is_logged_without_its_key(client, sup):
    log = AdminEvents()
    response = client.post(
        reverse("admin:api_apitoken_add"),
        {
            "name": "agency feed",
            "scopes": ["transfers"],
            "user": "",
            "operator": "",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 302, _errors(response)
    token = ApiToken.objects.get(name="agency feed")
    created = _one(log.new(), "admin.add", "api.apitoken")
    assert created.after["scopes"] == ["transfers"]
    assert token.key_hash not in json.dumps([created.after, created.details])
    assert "key_hash" not in json.dumps(created.details)

    changelist = reverse("admin:api_apitoken_changelist")
    client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    revoked = _one(log.new(), "admin.change", "api.apitoken")
    assert revoked.details["fields"] == ["revoked_at"]
    assert revoked.before == {"revoked_at": None}
    client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    assert log.new() == []  # revoked already: nothing changed, nothing logged


def test_rule_changes_are_logged_from_the_form_and_the_list(client, sup):
    log = AdminEvents()
    rule = Rule.objects.get(code="HIGH_NON_RETURN")
    response = client.post(
        reverse("admin:audits_rule_change", args=[rule.pk]),
        {
            "title": rule.title,
            **{f: getattr(rule, f) for f in ("title_en", "title_be", "explanation", "explanation_en")},
            "explanation_be": rule.explanation_be,
            "description": rule.description,
            "severity": "critical",
            "enabled": "on",
            "parameters": '{"threshold": "0.6"}',  # read-only: thresholds change through rule versions
        },
    )
    assert response.status_code == 302, _errors(response)
    event = _one(log.new(), "admin.change", "audits.rule")
    assert event.details["fields"] == ["severity"]
    assert event.after == {"severity": "critical"}

    rules = list(Rule.objects.order_by("pk"))
    form = {"form-TOTAL_FORMS": str(len(rules)), "form-INITIAL_FORMS": str(len(rules)), "_save": "Save"}
    for i, r in enumerate(rules):
        form[f"form-{i}-id"] = str(r.pk)
        form[f"form-{i}-severity"] = "low" if r.pk == rules[0].pk else r.severity
    response = client.post(reverse("admin:audits_rule_changelist"), form)
    assert response.status_code == 302, _errors(response)
    event = _one(log.new(), "admin.change", "audits.rule")
    assert event.object_id == str(rules[0].pk)
    assert event.after == {"severity": "low"}


def test_high_risk_countries_and_the_filing_calendar_are_logged(client, sup):
    sup.user_permissions.add(*Permission.objects.filter(codename__endswith="_filingcalendar"))
    log = AdminEvents()
    add = client.post(
        reverse("admin:audits_highriskcountry_add"),
        {"country": "ZZ", "list_name": "call_for_action", "active": "on", "note": ""},
    )
    assert add.status_code == 302, _errors(add)
    country = HighRiskCountry.objects.get(country="ZZ")
    assert _one(log.new(), "admin.add", "audits.highriskcountry").after["country"] == "ZZ"
    client.post(
        reverse("admin:audits_highriskcountry_change", args=[country.pk]),
        {"country": "ZZ", "list_name": "call_for_action", "note": "FATF 2025-06"},
    )
    changed = _one(log.new(), "admin.change", "audits.highriskcountry")
    assert changed.details["fields"] == ["active", "note"]
    client.post(reverse("admin:audits_highriskcountry_delete", args=[country.pk]), {"post": "yes"})
    assert _one(log.new(), "admin.delete", "audits.highriskcountry").before["country"] == "ZZ"

    calendar = {
        "kind": "client_register",
        "periodicity": "monthly",
        "due_days_after_period": "15",
        "change_notice_days": "",
    }
    assert client.post(reverse("admin:operators_filingcalendar_add"), calendar).status_code == 302
    _one(log.new(), "admin.add", "operators.filingcalendar")
    row = FilingCalendar.objects.get(kind="client_register")
    calendar["due_days_after_period"] = "20"
    assert client.post(reverse("admin:operators_filingcalendar_change", args=[row.pk]), calendar).status_code == 302
    event = _one(log.new(), "admin.change", "operators.filingcalendar")
    assert (event.before, event.after) == ({"due_days_after_period": 15}, {"due_days_after_period": 20})


def test_an_auditors_registry_export_from_the_admin_is_logged(client):
    OperatorFactory.create_batch(3)
    reader = auditor(username="reader", is_staff=True)
    login_verified(client, reader)
    columns = OperatorResource().get_export_order()
    data = {"format": "0", "resource": "0", **{f"operatorresource_{c}": "on" for c in columns}}
    response = client.post(reverse("admin:operators_operator_export"), data)
    assert response.status_code == 200, _errors(response)
    assert response["Content-Disposition"].startswith("attachment")
    event = AuditEvent.objects.get(action="admin.export")
    assert event.actor_id == reader.pk
    assert event.details["model"] == "operators.operator"
    assert event.details["format"] == "csv"
    assert event.details["rows"] == Operator.objects.count() == 3


def test_a_registry_import_confirmed_in_the_admin_is_logged_once(client, sup):
    csv = (
        "unp,name,htp_certificate_no,htp_certificate_valid_until,activity,status\n"
        f"{OperatorFactory.build().unp},Оператор импорта,HTP-9,2030-01-01,exchange,active\n"
    )
    upload = SimpleUploadedFile("registry.csv", csv.encode(), content_type="text/csv")
    dry_run = client.post(
        reverse("admin:operators_operator_import"), {"format": "0", "resource": "0", "import_file": upload}
    )
    assert dry_run.status_code == 200
    assert not AuditEvent.objects.filter(action="admin.import").exists()  # a preview changes nothing
    confirm = dry_run.context["confirm_form"]
    response = client.post(reverse("admin:operators_operator_process_import"), confirm.initial)
    assert response.status_code == 302, _errors(response)
    event = AuditEvent.objects.get(action="admin.import")
    assert event.actor_id == sup.pk
    assert event.details["model"] == "operators.operator"
    assert event.details["totals"]["new"] == 1


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_each_failed_login_is_logged_and_a_lockout_once_per_window(client):
    UserFactory(username="guessed")
    for _ in range(3):
        assert _login(client, "guessed", "wrong-guess").status_code == 200
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() == 3
    assert {(e.details["username"], e.ip) for e in failed} == {("guessed", "127.0.0.1")}
    assert "wrong-guess" not in json.dumps([e.details for e in failed])

    limit = django_settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 3):
        _login(client, "guessed", "wrong-guess")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == limit
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1
    # While the lockout holds, attempts are refused (even the right password) and logged no more.
    for password in ("wrong-guess", "another", "correct-horse-battery"):
        assert _login(client, "guessed", password).status_code == 429
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == limit
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1

    # An administrator lifts the lockout: the next one is news again.
    AccessAttempt.objects.filter(username="guessed").delete()
    for _ in range(limit + 2):
        _login(client, "guessed", "wrong-guess")
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 2
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2 * limit


def test_a_failed_second_factor_code_is_logged_once(client):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = auditor(username="aud")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    response = client.post(reverse("two_factor"), {"token": "00000000"})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="auth.two_factor_failed")
    assert event.actor_id == user.pk
    assert event.details["throttled"] is False
    assert "00000000" not in json.dumps(event.details)
