"""Roles cannot be escalated: a supervisor manages accounts only within the portal's roles (issue 14, item 5).

Every request is a crafted POST as a supervisor with a verified second factor, carrying the fields the
stock user admin would have taken (superuser, staff, permissions, any group).
"""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from operators.accounts import user_roles_set
from operators.roles import AUDITORS, SUPERVISORS
from tests.audits.otp_login import login_verified
from tests.factories import UserFactory, auditor, supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _second_factor_required(settings):
    settings.OTP_REQUIRED_FOR_SCC = True


@pytest.fixture
def sup(client):
    user = supervisor(username="sup")
    login_verified(client, user)
    return user


def _powers() -> list[str]:
    return [
        str(p.pk) for p in Permission.objects.filter(codename__in=["change_group", "add_user", "change_totpdevice"])
    ]


def _crafted(user: User, **extra) -> dict:
    """A change-form POST that the stock admin would accept, with every escalating field switched on."""
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "is_staff": "on",
        "is_superuser": "on",
        "user_permissions": _powers(),
        "groups": [str(Group.objects.get(name=AUDITORS).pk)],
        "date_joined_0": "2025-01-01",
        "date_joined_1": "10:00:00",
        "last_login_0": "",
        "last_login_1": "",
    }
    data.update(extra)
    return data


@pytest.mark.abuse
def test_supervisor_cannot_make_anyone_a_superuser_or_grant_permissions(client, sup):
    target = UserFactory(username="clerk")
    response = client.post(reverse("admin:auth_user_change", args=[target.pk]), _crafted(target))
    assert response.status_code == 302, response.content.decode()[:1000]
    target.refresh_from_db()
    assert not target.is_superuser
    assert not target.user_permissions.exists()
    assert set(target.groups.values_list("name", flat=True)) == {AUDITORS}
    assert target.is_staff  # an auditor works in the admin: staff follows the role, not the POST
    # Nor themselves.
    response = client.post(reverse("admin:auth_user_change", args=[sup.pk]), _crafted(sup))
    assert response.status_code == 302
    sup.refresh_from_db()
    assert not sup.is_superuser
    assert not sup.user_permissions.exists()
    assert set(sup.groups.values_list("name", flat=True)) == {AUDITORS}


@pytest.mark.abuse
def test_a_new_user_added_by_a_supervisor_is_never_a_superuser(client, sup):
    data = _crafted(UserFactory.build(username="newcomer"))
    data.update({"usable_password": "true", "password1": "Sturdy-pass-2025!", "password2": "Sturdy-pass-2025!"})
    data["groups"] = [str(Group.objects.get(name=SUPERVISORS).pk)]
    response = client.post(reverse("admin:auth_user_add"), data)
    assert response.status_code == 302, response.content.decode()[:1000]
    user = User.objects.get(username="newcomer")
    assert (user.is_superuser, user.is_staff) == (False, True)
    assert not user.user_permissions.exists()
    assert set(user.groups.values_list("name", flat=True)) == {SUPERVISORS}


@pytest.mark.abuse
def test_groups_beyond_the_portal_roles_are_refused(client, sup):
    target = UserFactory(username="clerk")
    admins = Group.objects.create(name="admins")
    admins.permissions.add(*Permission.objects.all())
    response = client.post(
        reverse("admin:auth_user_change", args=[target.pk]), _crafted(target, groups=[str(admins.pk)])
    )
    assert response.status_code == 200  # the form again, with an error: not a valid choice
    assert not target.groups.exists()
    page = client.get(reverse("admin:auth_user_change", args=[target.pk])).content.decode()
    for field in ("is_superuser", "is_staff", "user_permissions"):
        assert f'name="{field}"' not in page
    assert f'value="{admins.pk}"' not in page


def test_groups_a_superuser_gave_survive_a_supervisors_edit_and_staff_follows_the_role(client, sup):
    target = auditor(username="clerk")
    special = Group.objects.create(name="helpdesk")
    target.groups.add(special)
    response = client.post(reverse("admin:auth_user_change", args=[target.pk]), _crafted(target, groups=[]))
    assert response.status_code == 302, response.content.decode()[:1000]
    assert set(target.groups.values_list("name", flat=True)) == {"helpdesk"}
    target.groups.remove(special)
    client.post(reverse("admin:auth_user_change", args=[target.pk]), _crafted(target, groups=[]))
    target.refresh_from_db()
    assert not target.is_staff  # no role, no other access: out of the admin


@pytest.mark.abuse
def test_supervisor_cannot_touch_a_superuser(client, sup):
    root = User.objects.create_superuser("root", password="root-pass-2025!")
    change = reverse("admin:auth_user_change", args=[root.pk])
    assert client.post(change, _crafted(root, is_superuser="", is_active="")).status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    assert client.get(password).status_code == 403
    taken = {"usable_password": "true", "password1": "Taken-over-2025!", "password2": "Taken-over-2025!"}
    assert client.post(password, taken).status_code == 403
    assert client.post(reverse("admin:auth_user_delete", args=[root.pk]), {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"},
    )
    root.refresh_from_db()
    assert root.is_superuser
    assert root.is_active
    assert root.check_password("root-pass-2025!")


@pytest.mark.abuse
def test_supervisor_cannot_change_group_permissions(client, sup):
    group = Group.objects.get(name=SUPERVISORS)
    before = set(group.permissions.values_list("pk", flat=True))
    data = {"name": SUPERVISORS, "permissions": [str(p.pk) for p in Permission.objects.all()]}
    assert client.post(reverse("admin:auth_group_change", args=[group.pk]), data).status_code == 403
    assert (
        client.post(reverse("admin:auth_group_add"), {"name": "x", "permissions": data["permissions"]}).status_code
        == 403
    )
    assert set(group.permissions.values_list("pk", flat=True)) == before
    assert not Group.objects.filter(name="x").exists()
    assert client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 200  # read only


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:otp_totp_totpdevice_changelist",
        "admin:axes_accessattempt_changelist",
        "admin:axes_accesslog_changelist",
        "admin:axes_accessfailurelog_changelist",
    ],
)
def test_otp_devices_and_lockout_records_are_for_superusers_only(client, sup, changelist):
    sup.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["otp_totp", "axes"]))
    assert client.get(reverse(changelist)).status_code == 403
    root = User.objects.create_superuser("root", password="root-pass-2025!")
    client.logout()
    login_verified(client, root)
    assert client.get(reverse(changelist)).status_code == 200


def test_a_superuser_keeps_the_full_user_form(client):
    root = User.objects.create_superuser("root", password="root-pass-2025!")
    login_verified(client, root)
    target = UserFactory(username="clerk")
    response = client.post(reverse("admin:auth_user_change", args=[target.pk]), _crafted(target))
    assert response.status_code == 302, response.content.decode()[:1000]
    target.refresh_from_db()
    assert target.is_superuser


def test_user_roles_set_refuses_what_is_not_a_role_and_who_may_not_give_it():
    boss, clerk = supervisor(), UserFactory()
    with pytest.raises(ValidationError):
        user_roles_set(actor=boss, user=clerk, roles=["admins"])
    with pytest.raises(PermissionDenied):
        user_roles_set(actor=boss, user=User.objects.create_superuser("root", password="x"), roles=[])
    with pytest.raises(PermissionDenied):
        user_roles_set(actor=auditor(), user=clerk, roles=[SUPERVISORS])
    user_roles_set(actor=boss, user=clerk, roles=[SUPERVISORS])
    clerk.refresh_from_db()
    assert clerk.is_staff
    assert not clerk.is_superuser
    assert set(clerk.groups.values_list("name", flat=True)) == {SUPERVISORS}
