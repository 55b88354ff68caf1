"""Each flag action confirms what it did, to which flag and whom (issue 16, item 5), not just "Готово."."""

from datetime import date

import pytest

from audits.models import Flag
from audits.services import scan_run
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def flag():
    op = h.operator()
    h.file_everything(op, until=date(2025, 5, 1))
    scan_run(now=h.NOW)
    return Flag.objects.get(operator=op, rule__code="MISSING_FILING")


def _post(client, flag, **data) -> list[str]:
    response = client.post(f"/audits/flags/{flag.pk}/", data, follow=True)
    assert response.redirect_chain[-1][1] == 302
    return [str(m) for m in response.context["messages"]]


def test_actions_say_what_they_did(client, flag):
    auditor = h.user("aud", group="auditors")
    other = h.user("ivanov", group="auditors")
    other.first_name, other.last_name = "Иван", "Иванов"
    other.save()
    client.force_login(auditor)

    assert _post(client, flag, action="take") == [f"Нарушение №{flag.pk} взято вами в работу."]
    assert _post(client, flag, action="assign", assignee=other.pk) == [f"Нарушение №{flag.pk} назначено: Иван Иванов."]
    assert _post(client, flag, action="note", text="checked") == [f"Заметка к нарушению №{flag.pk} добавлена."]
    messages = _post(client, flag, action="nonsense")
    assert messages == ["Неизвестное действие."]
    assert not any("Готово" in m for m in messages)


def test_admin_bulk_action_names_the_flags_it_changed(client, flag):
    auditor = h.user("aud", group="auditors")
    auditor.is_staff = True
    auditor.save()
    client.force_login(auditor)
    response = client.post("/admin/audits/flag/", {"action": "take", "_selected_action": [flag.pk]}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert f"Взяты вами в работу нарушения: №{flag.pk}." in messages, messages
