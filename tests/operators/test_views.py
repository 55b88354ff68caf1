"""Who may open the registry pages (DESIGN section 7)."""

import pytest
from django.urls import reverse

from tests.factories import OperatorFactory, UserFactory, auditor, operator_staff, supervisor

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_login(client):
    operator = OperatorFactory()
    for url in (reverse("home"), reverse("operators:list"), reverse("operators:detail", args=[operator.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_auditor_sees_the_whole_registry(client):
    first, second = OperatorFactory(name="ООО «Первый»"), OperatorFactory(name="ООО «Второй»")
    client.force_login(auditor())
    response = client.get(reverse("operators:list"))
    assert response.status_code == 200
    assert {first.unp, second.unp} <= {op.unp for op in response.context["page"]}
    assert client.get(reverse("operators:detail", args=[second.pk])).status_code == 200


def test_registry_search_by_unp_and_name(client):
    first, second = OperatorFactory(name="ООО «Альфа»"), OperatorFactory(name="ООО «Бета»")
    client.force_login(supervisor())
    by_unp = client.get(reverse("operators:list"), {"q": second.unp})
    assert [op.pk for op in by_unp.context["page"]] == [second.pk]
    by_name = client.get(reverse("operators:list"), {"q": "альфа"})
    assert [op.pk for op in by_name.context["page"]] == [first.pk]


def test_operator_staff_see_only_their_own_operator(client):
    own, other = OperatorFactory(), OperatorFactory()
    client.force_login(operator_staff(own))
    listing = client.get(reverse("operators:list"))
    assert [op.pk for op in listing.context["page"]] == [own.pk]
    assert client.get(reverse("operators:detail", args=[own.pk])).status_code == 200
    # Another operator's page answers 404, never a 403 that reveals it exists.
    assert client.get(reverse("operators:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("operators:detail", args=[999999])).status_code == 404


def test_operator_staff_land_on_their_filings_and_auditors_on_the_dashboard(client):
    own = OperatorFactory()
    client.force_login(operator_staff(own))
    assert client.get(reverse("home"))["Location"] == reverse("filings:list")
    client.force_login(auditor())
    assert client.get(reverse("home"))["Location"] == reverse("dashboard")


def test_user_without_role_sees_nothing(client):
    OperatorFactory()
    client.force_login(UserFactory())
    assert list(client.get(reverse("operators:list")).context["page"]) == []


def test_operator_staff_cannot_open_the_admin(client):
    own, other = OperatorFactory(), OperatorFactory()
    staff = operator_staff(own)
    client.force_login(staff)
    response = client.get(reverse("admin:operators_operator_change", args=[other.pk]))
    assert response.status_code == 302  # not staff: sent to the admin login
    staff.is_staff = True  # even if someone ticks "staff", no model permission is granted
    staff.save()
    assert client.get(reverse("admin:operators_operator_change", args=[other.pk])).status_code == 403


def test_auditor_reads_the_admin_registry_but_cannot_change_it(client):
    operator = OperatorFactory()
    client.force_login(auditor(is_staff=True))
    assert client.get(reverse("admin:operators_operator_changelist")).status_code == 200
    response = client.post(reverse("admin:operators_operator_change", args=[operator.pk]), {"name": "x"})
    assert response.status_code == 403
    assert client.get(reverse("admin:operators_operator_import")).status_code == 403


def test_supervisor_changes_status_in_admin_and_history_is_kept(client):
    operator = OperatorFactory()
    user = supervisor()
    client.force_login(user)
    url = reverse("admin:operators_operator_change", args=[operator.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not hasattr(v, "all")}
    data.update(
        {
            "status": "suspended",
            "htp_certificate_valid_until": operator.htp_certificate_valid_until.isoformat(),
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "status_changes-TOTAL_FORMS": "0",
            "status_changes-INITIAL_FORMS": "0",
        }
    )
    data.pop("htp_registered_on", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    operator.refresh_from_db()
    assert operator.status == "suspended"
    change = operator.status_changes.get()
    assert (change.from_status, change.to_status, change.changed_by) == ("active", "suspended", user)


def test_login_page_is_russian_first_and_uses_no_external_assets(client):
    response = client.get(reverse("login"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'lang="ru"' in body
    assert "Вход в портал" in body
    # Closed network: nothing from a CDN.
    assert "http://" not in body
    assert "https://" not in body


def test_language_switch_to_english(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in body
    assert "Sign in to the portal" in body
