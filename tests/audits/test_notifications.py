"""The notifications page's reads (issue 18, item 6): the header's count is one query; the sections show
what needs the user (their flags by due date, others' proposals, their notifications); other parts add
sections through the registry (answers from operators and overdue data requests come that way)."""

import copy
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audits import notifications
from audits.models import Flag, FlagStatus, Notification, NotificationKind, Rule
from audits.services import flag_propose, notifications_mark_read
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    op = h.operator()
    rule = Rule.objects.get(code="MISSING_FILING")
    me, other = h.user("me", group="auditors"), h.user("other", group="auditors")
    today = timezone.localdate()
    late, soon, _decided = (
        Flag.objects.create(
            operator=op,
            rule=rule,
            fingerprint=str(i) * 64,
            subject=str(i),
            severity="medium",
            assignee=me,
            status=status,
            due_date=today + timedelta(days=days),
        )
        for i, days, status in ((1, -3, FlagStatus.IN_REVIEW), (2, 4, FlagStatus.OPEN), (3, 1, FlagStatus.CONFIRMED))
    )
    high = Flag.objects.create(operator=op, rule=rule, fingerprint="9" * 64, subject="9", severity="high")
    proposal = flag_propose(flag=high, actor=other, action="confirm", reason="r")
    Notification.objects.create(recipient=me, kind=NotificationKind.ESCALATION, flag=high, text="t")
    return {"me": me, "other": other, "late": late, "soon": soon, "proposal": proposal}


def test_the_header_count_is_one_query(world, django_assert_num_queries, monkeypatch):
    # The built-in counts; each section another part registers adds its own count's query.
    monkeypatch.setattr(notifications, "_SOURCES", {})
    with django_assert_num_queries(1):
        counts = notifications.inbox_counts(user=world["me"])
    assert (counts.assigned, counts.waiting, counts.unread, counts.total) == (2, 1, 1, 4)
    other = notifications.inbox_counts(user=world["other"])
    assert (other.assigned, other.waiting, other.unread) == (0, 0, 0)  # one's own proposal waits for others


def test_sections_list_what_needs_the_user(world, monkeypatch):
    monkeypatch.setattr(notifications, "_SOURCES", {})
    me = world["me"]
    assert list(notifications.flags_assigned(user=me)) == [world["late"], world["soon"]]  # soonest due first
    assert list(notifications.proposals_waiting(user=me)) == [world["proposal"]]
    assert list(notifications.proposals_mine(user=world["other"])) == [world["proposal"]]
    assert notifications_mark_read(user=me) == 1
    assert notifications_mark_read(user=me) == 0
    assert notifications.inbox_count(user=me) == 3


def test_a_registered_section_shows_on_the_page_and_adds_to_the_count(world, client, settings, tmp_path, monkeypatch):
    settings.OTP_REQUIRED_FOR_SCC = False
    monkeypatch.setattr(notifications, "_SOURCES", {})
    (tmp_path / "answers.html").write_text("{% for item in items %}<p class='answer'>{{ item }}</p>{% endfor %}")
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], str(tmp_path)]
    settings.TEMPLATES = templates  # assigned: the template engines are rebuilt
    source = notifications.InboxSource(
        key="answers",
        title="Ответы операторов",
        template="answers.html",
        items=lambda *, user: ["ответ по запросу №7"],
        count=lambda *, user: 1,
    )
    notifications.inbox_source_register(source)
    client.force_login(world["me"])
    page = client.get(reverse("notifications")).content.decode()
    assert "Ответы операторов (1)" in page
    assert "ответ по запросу №7" in page
    assert 'data-count="5"' in page  # 2 assigned + 1 waiting + 1 unread + 1 answer
