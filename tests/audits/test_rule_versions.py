"""Rule versions (issue 19 item 3): drafts change nothing live, a backtest shows the flags a draft would
open and close per operator on the database's history, publication takes effect from its day, flags
record the version that raised them, the history page, who may do what, the audit log."""

import importlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from auditlog.models import AuditEvent
from audits.models import Flag, FlagStatus, Rule, RuleVersion
from audits.services import scan_run
from audits.services import versions as v
from audits.services.backtest import backtest_points, backtest_run
from outflows.models import Dimension, OutflowRun, OutflowStat, RunStatus
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db

CODE = "HIGH_NON_RETURN"


def _seed() -> dict:
    """The rule's version 1: its seeded parameters (0002, and the guards later migrations added to them)."""
    return RuleVersion.objects.get(rule__code=CODE, number=1).parameters


def _run(finished: datetime, shares: dict) -> OutflowRun:
    """A finished outflow run with operator rows: {operator: (non-return share, outbound value)}."""
    run = OutflowRun.objects.create(as_of=finished, status=RunStatus.FINISHED, finished_at=finished)
    for op, (share, out) in shares.items():
        out = Decimal(out)
        ret = (out * (1 - Decimal(share))).quantize(Decimal("0.01"))
        OutflowStat.objects.create(
            run=run,
            dimension=Dimension.OPERATOR,
            key=op.unp,
            cohort="all",
            outbound_value_byn=out,
            returned_value_byn=ret,
            unreturned_value_byn=out - ret,
            non_return_share=Decimal(share),
            pending_outbound_value_byn=0,
            pending_returned_value_byn=0,
            outbound_count=10,
        )
    return run


@pytest.fixture
def world():
    """Three operators and a run of May 2025: A at 0.40 (5 000 BYN), B at 0.90 of only 1 000 BYN, C at 0.80."""
    ops = {name: h.operator(name=f"Оператор {name}") for name in "ABC"}
    _run(
        datetime(2025, 5, 10, 12, tzinfo=UTC),
        {ops["A"]: ("0.40", 5000), ops["B"]: ("0.90", 1000), ops["C"]: ("0.80", 5000)},
    )
    return ops


@pytest.fixture
def sup():
    return h.user("sup1", group="supervisors")


def _fields(**changes) -> dict:
    """The draft form's fields for the version in force, some changed (a checked box only when true)."""
    fields = {}
    for key, value in _seed().items():
        if isinstance(value, bool):
            if value:
                fields[f"p__{key}"] = "on"
        else:
            fields[f"p__{key}"] = str(value).replace(".", ",")
    return {**fields, **{f"p__{k}": v for k, v in changes.items()}}


def _flags():
    return sorted(
        Flag.objects.filter(rule__code=CODE).exclude(status=FlagStatus.CLEARED).values_list("operator__name", flat=True)
    )


def _draft(sup, **params):
    return v.version_draft(
        rule=Rule.objects.get(code=CODE), parameters={**_seed(), **params}, enabled=True, note="порог", actor=sup
    )


def _backtested(sup, draft, start=date(2025, 5, 1), end=date(2025, 6, 30)):
    v.version_backtest_request(version=draft, date_from=start, date_to=end, actor=sup)
    result = backtest_run(version_id=draft.pk, actor=sup)
    draft.refresh_from_db()
    return result


def test_the_migration_made_every_rule_version_one():
    """0013 for the rules there were; a rule seeded by a later migration gets version 1 lazily."""
    seeded_0002 = {
        row[0] for row in importlib.import_module("audits.migrations.0002_seed_rules_and_high_risk_countries").RULES
    }
    assert not seeded_0002 & set(Rule.objects.filter(versions__isnull=True).values_list("code", flat=True))
    v.versions_seed()
    for rule in Rule.objects.all():
        [one] = rule.versions.all()
        assert (one.number, one.status, one.effective_from) == (1, "published", None)
        assert (one.parameters, one.enabled) == (rule.parameters, rule.enabled)


def test_a_draft_changes_no_live_flag(world, sup):
    scan_run(now=h.NOW)
    assert _flags() == ["Оператор B", "Оператор C"]
    draft = _draft(sup, threshold="0.3", min_outbound_byn="2000")
    assert (draft.number, draft.status) == (2, "draft")
    scan_run(now=h.NOW)
    assert _flags() == ["Оператор B", "Оператор C"]
    assert Rule.objects.get(code=CODE).parameters == _seed()
    # The same change again rewrites the one draft; no change at all is refused.
    assert _draft(sup, threshold="0.35").pk == draft.pk
    with pytest.raises(ValidationError):
        _draft(sup)


def test_backtest_shows_the_flags_it_would_open_and_close_per_operator(world, sup):
    scan_run(now=h.NOW)
    flags_before = list(Flag.objects.values_list("id", "status", "updated_at"))
    draft = _draft(sup, threshold="0.3", min_outbound_byn="2000")
    result = _backtested(sup, draft)
    assert draft.backtest_status == "finished"
    assert draft.backtest["open_total"] == 1
    # Evaluated every 6 days from 01.05: first found on the first point after the run finished (10.05).
    assert [(e["name"], e["first"], e["last"], e["flag"]) for e in result["open"]] == [
        ("Оператор A", "2025-05-13", "2025-06-30", None)
    ]
    b_flag = Flag.objects.get(operator=world["B"], rule__code=CODE)
    assert [(e["name"], e["flag"]) for e in result["close"]] == [("Оператор B", b_flag.pk)]
    assert {(o["name"], o["open"], o["close"]) for o in result["operators"]} == {
        ("Оператор A", 1, 0),
        ("Оператор B", 0, 1),
    }
    # Before the run finished (10.05.2025) neither version found anything: the database as of each day.
    counts = {c["date"]: (c["live"], c["draft"]) for c in result["counts"]}
    assert counts[date(2025, 5, 1).isoformat()] == (0, 0)
    assert counts["2025-06-30"] == (2, 2)
    # Nothing written: the flags as they were, and the rule's live values untouched.
    assert list(Flag.objects.values_list("id", "status", "updated_at")) == flags_before
    assert Rule.objects.get(code=CODE).parameters == _seed()


def test_backtest_does_not_see_a_run_finished_after_its_range(world, sup):
    _run(datetime(2025, 8, 1, 12, tzinfo=UTC), {world["A"]: ("0.10", 9000)})
    result = _backtested(sup, _draft(sup, threshold="0.3", min_outbound_byn="2000"))
    assert [e["name"] for e in result["open"]] == ["Оператор A"]  # the May run's 0.40, not August's 0.10


def test_backtest_evaluation_points():
    assert backtest_points(date(2025, 1, 1), date(2025, 1, 3)) == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    points = backtest_points(date(2024, 1, 1), date(2024, 12, 31))
    assert points[0] == date(2024, 1, 1)
    assert points[-1] == date(2024, 12, 31)
    assert len(points) <= 13


def test_publishing_takes_effect_from_its_day_and_flags_record_the_version(world, sup):
    scan_run(now=h.NOW)
    draft = _draft(sup, threshold="0.3", min_outbound_byn="2000")
    with pytest.raises(ValidationError):  # not tried on history yet
        v.version_publish(version=draft, effective_from=timezone.localdate(), actor=sup)
    _backtested(sup, draft)
    with pytest.raises(ValidationError):  # not in the past
        v.version_publish(version=draft, effective_from=timezone.localdate() - timedelta(days=1), actor=sup)
    start = timezone.localdate() + timedelta(days=7)
    v.version_publish(version=draft, effective_from=start, actor=sup)  # the same supervisor: no four eyes
    draft.refresh_from_db()
    assert (draft.status, draft.effective_from, draft.published_by) == ("published", start, sup)
    assert RuleVersion.objects.get(rule__code=CODE, number=1).status == "superseded"
    assert Rule.objects.get(code=CODE).parameters == _seed()  # not in force yet
    one = RuleVersion.objects.get(rule__code=CODE, number=1)

    today = timezone.now()
    scan_run(now=today)
    assert _flags() == ["Оператор B", "Оператор C"]
    assert set(Flag.objects.filter(rule__code=CODE).values_list("rule_version", flat=True)) == {one.pk}

    scan_run(now=today + timedelta(days=8))
    assert _flags() == ["Оператор A", "Оператор C"]
    assert Flag.objects.get(operator=world["A"], rule__code=CODE).rule_version == draft
    assert Flag.objects.get(operator=world["C"], rule__code=CODE).rule_version == one  # kept, not reopened
    assert Flag.objects.get(operator=world["B"], rule__code=CODE).status == FlagStatus.CLEARED


def test_publishing_today_makes_it_live_now_and_every_step_is_in_the_audit_log(world, sup):
    draft = _draft(sup, threshold="0.3")
    _backtested(sup, draft)
    v.version_publish(version=draft, effective_from=timezone.localdate(), actor=sup)
    rule = Rule.objects.get(code=CODE)
    assert rule.parameters == {**_seed(), "threshold": "0.3"}
    actions = list(
        AuditEvent.objects.filter(object_type="audits.ruleversion", object_id=str(draft.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "rule.version_drafted",
        "rule.version_backtest_requested",
        "rule.version_backtest_finished",
        "rule.version_published",
    ]
    published = AuditEvent.objects.get(action="rule.version_published")
    assert published.details["changes"] == [{"key": "threshold", "before": "0.5", "after": "0.3"}]
    assert published.actor_id == sup.pk


def test_a_rule_added_later_gets_version_one_lazily():
    Rule.objects.create(code="LATER_RULE", title="Позже", severity="low", parameters={"x": 1})
    scan_run(now=h.NOW)
    [one] = RuleVersion.objects.filter(rule__code="LATER_RULE")
    assert (one.number, one.parameters, one.status) == (1, {"x": 1}, "published")
    assert AuditEvent.objects.filter(action="rule.version_seeded", object_id=str(one.pk)).exists()


# --- pages --------------------------------------------------------------------------------------------


def test_history_page_shows_who_when_what_changed_and_the_backtest(client, world, sup):
    scan_run(now=h.NOW)
    draft = _draft(sup, threshold="0.3", min_outbound_byn="2000")
    _backtested(sup, draft)
    client.force_login(h.user("aud1", group="auditors"))
    page = client.get(reverse("audits:rule_detail", args=[CODE])).content.decode()
    assert "Черновик версии" in page
    assert "sup1" in page
    assert "2\u00a0000" in page
    assert "0,3" in page
    assert "01.05.2025–30.06.2025" in page
    assert 'id="backtest-open"' in page
    assert "Оператор A" in page
    assert 'data-unp="{}"'.format(world["B"].unp) in page
    assert 'id="draft-form"' not in page
    assert 'id="publish-form"' not in page
    listing = client.get(reverse("audits:rule_list")).content.decode()
    assert CODE in listing


def test_the_flag_page_shows_the_rule_version(client, world):
    scan_run(now=h.NOW)
    flag = Flag.objects.get(operator=world["C"], rule__code=CODE)
    client.force_login(h.user("aud2", group="auditors"))
    page = client.get(reverse("audits:flag_detail", args=[flag.pk])).content.decode()
    assert 'id="rule-version"' in page
    assert "№1" in page


def test_supervisor_drafts_backtests_and_publishes_through_the_page(client, world, sup):
    client.force_login(sup)
    url = reverse("audits:rule_draft", args=[CODE])
    form = client.get(reverse("audits:rule_detail", args=[CODE])).content.decode()
    assert 'name="p__threshold" value="0,5"' in form  # one field per parameter, as the pages write numbers
    response = client.post(url, {**_fields(threshold="0,3"), "enabled": "on", "note": "ниже порог"})
    assert response.status_code == 302
    draft = RuleVersion.objects.get(rule__code=CODE, status="draft")
    assert draft.parameters == {**_seed(), "threshold": "0.3"}  # typed as the version in force has them
    bad = client.post(url, {**_fields(threshold="много"), "enabled": "on"}, follow=True)
    assert "Нужно число" in bad.content.decode()
    publish = reverse("audits:rule_publish", args=[CODE, draft.number])
    refused = client.post(publish, {"effective_from": timezone.localdate().isoformat()}, follow=True)
    assert "Сначала проверьте черновик на истории" in refused.content.decode()


@pytest.mark.parametrize("who", ["auditor", "operator", "nobody"])
def test_only_supervisors_change_rule_versions(client, world, who):
    op = world["A"]
    user = {
        "auditor": lambda: h.user("aud3", group="auditors"),
        "operator": lambda: h.user("staff3", operator=op),
        "nobody": lambda: h.user("nobody3"),
    }[who]()
    client.force_login(user)
    before = RuleVersion.objects.count()
    response = client.post(reverse("audits:rule_draft", args=[CODE]), {**_fields(threshold="0.1"), "enabled": "on"})
    assert response.status_code == 403
    assert RuleVersion.objects.count() == before
    pages = [reverse("audits:rule_list"), reverse("audits:rule_detail", args=[CODE])]
    expected = 200 if who == "auditor" else 403
    assert [client.get(p).status_code for p in pages] == [expected, expected]


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("audits:rule_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_rule_row_changed_behind_the_versions_back_changes_nothing(world):
    """Only versions decide: parameters written straight into the rule are not what the scan runs, and the
    scan puts the version in force back into the rule's row."""
    Rule.objects.filter(code=CODE).update(parameters={"threshold": "0.1"}, enabled=False)
    scan_run()
    assert _flags() == ["Оператор B", "Оператор C"]
    rule = Rule.objects.get(code=CODE)
    assert (rule.parameters, rule.enabled) == (_seed(), True)
