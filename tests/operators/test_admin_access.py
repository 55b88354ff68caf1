"""The admin decides with the one access rule (operators.access.Access), not with permission rows.

operators.backends.AccessPermissionBackend answers every `has_perm` the admin asks from the
caller's Access; the groups' rows written by groups_sync are a copy of the same table.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from operators.access import access_for_user
from operators.models import OperatorMembership
from operators.roles import AUDITORS, SUPERVISORS, groups_sync
from tests import factories as f
from tests.audits.otp_login import login_verified

pytestmark = pytest.mark.django_db


def _group_rows(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize(("make", "group"), [(f.auditor, AUDITORS), (f.supervisor, SUPERVISORS)])
def test_the_groups_rows_are_a_copy_of_what_access_decides(make, group):
    groups_sync()
    user = make()
    assert access_for_user(user).model_permissions() == _group_rows(group)
    assert user.get_all_permissions() == _group_rows(group)


def test_an_auditor_reads_the_admin_even_when_the_group_rows_are_wiped(client):
    user = f.auditor(is_staff=True)
    Group.objects.get(name=AUDITORS).permissions.clear()
    login_verified(client, user)
    assert client.get(reverse("admin:operators_operator_changelist")).status_code == 200
    # ... and still may not change what only supervisors change.
    operator = f.OperatorFactory()
    assert client.get(reverse("admin:operators_operator_change", args=[operator.pk])).status_code == 200
    delete = reverse("admin:operators_operator_delete", args=[operator.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_a_granted_permission_row_gives_no_right_to_someone_without_a_role(client):
    user = f.UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_operator"))
    stray = Group.objects.create(name="stray")
    stray.permissions.add(Permission.objects.get(codename="view_flag", content_type__app_label="audits"))
    user.groups.add(stray)
    assert not user.has_perm("operators.change_operator")
    assert not user.has_perm("audits.view_flag")
    client.force_login(user)
    assert client.get(reverse("admin:operators_operator_changelist")).status_code in (302, 403)


def test_operator_staff_get_no_admin_right_whatever_rows_they_hold():
    user = f.UserFactory(is_staff=True)
    OperatorMembership.objects.create(user=user, operator=f.OperatorFactory())
    user.user_permissions.add(Permission.objects.get(codename="view_operator"))
    assert user.get_all_permissions() == set()
    assert not user.has_module_perms("operators")


def test_a_supervisor_may_what_the_table_says_and_no_more():
    groups_sync()
    user = f.supervisor()
    assert user.has_perm("operators.change_operator")
    assert user.has_perm("audits.change_rule")
    assert not user.has_perm("audits.add_rule")
    assert not user.has_perm("audits.change_flag")  # flags move through the review services only
    assert not user.has_perm("auditlog.change_auditevent")
