"""Rule versions (issue 19 item 3): a change to a rule's parameters or switch is a draft, tried by a
backtest (audits.services.backtest), then published to take effect from a date.

Which version runs: the scan (and a backtest's "live" side) takes, for each rule, the published or
superseded version with the latest `effective_from` on or before the day it looks at (Minsk; version 1
has none: since always), the higher number on the same day. `Rule.parameters`/`Rule.enabled` only
mirror the version live today (written here and by the scan); nothing edits them directly.

Who: supervisors draft, backtest and publish (Access.may("audits.change_rule"), the role table's
right to edit the rule catalogue); the same person may draft and publish (DESIGN asks four eyes of
flag decisions, not of thresholds). Every step goes into the audit log.
"""

import copy
import json
from datetime import date

from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from auditlog.services import audit_event_record
from audits.models import BacktestStatus, Rule, RuleVersion, RuleVersionStatus
from audits.services.state import User

LIVE_STATUSES = (RuleVersionStatus.PUBLISHED, RuleVersionStatus.SUPERSEDED)
# The longest backtest range (days): each evaluation point re-runs the rule over the registry.
BACKTEST_MAX_DAYS = 3 * 366


def version_state(version: RuleVersion) -> dict:
    """What the audit log keeps of a version."""
    return {
        "rule": version.rule.code,
        "number": version.number,
        "status": version.status,
        "enabled": version.enabled,
        "parameters": version.parameters,
        "effective_from": version.effective_from.isoformat() if version.effective_from else None,
    }


def params_diff(before: RuleVersion | None, after: RuleVersion) -> list[dict]:
    """What changed from one version to the next: [{"key", "before", "after"}], the switch as key "enabled"."""
    old = dict(before.parameters or {}) if before else {}
    new = dict(after.parameters or {})
    rows = []
    if before is None or before.enabled != after.enabled:
        rows.append({"key": "enabled", "before": before.enabled if before else None, "after": after.enabled})
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key) or (key in old) != (key in new):
            rows.append({"key": key, "before": old.get(key), "after": new.get(key)})
    return rows


def rule_with(rule: Rule, version: RuleVersion) -> Rule:
    """The rule as the version has it (an unsaved copy): what the rule functions of audits.rules read."""
    shaped = copy.copy(rule)
    shaped.parameters = dict(version.parameters or {})
    shaped.enabled = version.enabled
    return shaped


def _version_one(rule) -> dict:
    """Version 1 of a rule: its values before versions (or as its seeding migration wrote them)."""
    return {
        "parameters": rule.parameters or {},
        "enabled": rule.enabled,
        "status": RuleVersionStatus.PUBLISHED,
        "note": "Значения до введения версий",
        "published_at": timezone.now(),
    }


def versions_seed(*, actor: User = None) -> int:
    """Version 1 (published, since always) for every rule that has none: a rule added by a later
    migration gets its seeded values as version 1 the first time the scan or a rule page looks."""
    created = 0
    for rule in Rule.objects.filter(versions__isnull=True):
        with transaction.atomic():
            version, made = RuleVersion.objects.get_or_create(
                rule=rule,
                number=1,
                defaults=_version_one(rule),
            )
            if made:
                created += 1
                audit_event_record(actor=actor, action="rule.version_seeded", obj=version, after=version_state(version))
    return created


def versions_seed_migrated(*, apps=django_apps, **signal_kwargs) -> None:
    """After every migrate (post_migrate, audits/apps.py): version 1 for the rules a later migration
    seeded (as 0013 did for the rules there were), without the audit log, like a migration's seed."""
    try:
        rule_model, version_model = apps.get_model("audits", "Rule"), apps.get_model("audits", "RuleVersion")
    except LookupError:  # migrated back to before the versions
        return
    for rule in rule_model.objects.filter(versions__isnull=True):
        version_model.objects.get_or_create(
            rule=rule,
            number=1,
            defaults=_version_one(rule),
        )


def _effective(versions, on: date) -> RuleVersion | None:
    """The version in force on a day among a rule's versions (the rule of versions_effective, in Python)."""
    live = [v for v in versions if v.status in LIVE_STATUSES and (v.effective_from is None or v.effective_from <= on)]
    return max(live, key=lambda v: (v.effective_from or date.min, v.number), default=None)


def versions_effective(*, on: date, rules=None) -> dict[int, RuleVersion]:
    """rule id -> the version in force on that day (one query)."""
    qs = RuleVersion.objects.filter(status__in=LIVE_STATUSES).filter(
        Q(effective_from__isnull=True) | Q(effective_from__lte=on)
    )
    if rules is not None:
        qs = qs.filter(rule__in=rules)
    result: dict[int, RuleVersion] = {}
    for v in qs.order_by("rule_id", F("effective_from").asc(nulls_first=True), "number"):
        result[v.rule_id] = v  # the last one per rule wins
    return result


def version_live(*, rule: Rule, on: date | None = None) -> RuleVersion | None:
    return _effective(rule.versions.all(), on or timezone.localdate())


def rules_mirror(*, versions: dict[int, RuleVersion]) -> int:
    """Rule.parameters/enabled set to the versions in force (a scheduled version that became due)."""
    changed = 0
    for rule in Rule.objects.filter(pk__in=list(versions)).only("id", "parameters", "enabled"):
        v = versions[rule.pk]
        if rule.parameters != v.parameters or rule.enabled != v.enabled:
            Rule.objects.filter(pk=rule.pk).update(
                parameters=v.parameters, enabled=v.enabled, updated_at=timezone.now()
            )
            changed += 1
    return changed


def _parameters(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError as exc:
            raise ValidationError(_("Параметры должны быть объектом JSON.")) from exc
    if not isinstance(value, dict):
        raise ValidationError(_("Параметры должны быть объектом JSON."))
    return value


def version_draft(*, rule: Rule, parameters, enabled: bool, note: str = "", actor: User, ip: str | None = None):
    """The supervisor's change as the rule's draft: the one draft is rewritten (its backtest dropped), or
    a new one numbered after the last version. A draft identical to the live version is refused."""
    params = _parameters(parameters)
    versions_seed(actor=actor)
    with transaction.atomic():
        Rule.objects.select_for_update().filter(pk=rule.pk).first()  # one writer of a rule's versions at a time
        live = version_live(rule=rule)
        if live is not None and live.parameters == params and live.enabled == enabled:
            raise ValidationError(_("Черновик не отличается от действующей версии."))
        draft = rule.versions.filter(status=RuleVersionStatus.DRAFT).first()
        before = version_state(draft) if draft else None
        if draft is None:
            number = (rule.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            draft = RuleVersion(rule=rule, number=number, status=RuleVersionStatus.DRAFT)
        draft.parameters, draft.enabled, draft.note, draft.author = params, enabled, note[:500], actor
        draft.backtest_status, draft.backtest, draft.backtest_from, draft.backtest_to = "", None, None, None
        draft.save()
        audit_event_record(
            actor=actor,
            action="rule.version_drafted",
            obj=draft,
            ip=ip,
            before=before,
            after=version_state(draft),
            details={"changes": params_diff(live, draft), "note": draft.note},
        )
    return draft


def version_backtest_request(*, version: RuleVersion, date_from: date, date_to: date, actor: User, ip=None):
    """Mark a draft's backtest over [date_from, date_to] queued; the caller sends the Celery task
    (audits.tasks.backtest_rule_version, on commit), which runs audits.services.backtest.backtest_run."""
    if version.status != RuleVersionStatus.DRAFT:
        raise ValidationError(_("Проверять на истории можно только черновик."))
    today = timezone.localdate()
    if date_from > date_to:
        raise ValidationError(_("Начало периода позже его конца."))
    if date_to > today:
        raise ValidationError(_("Период не может заканчиваться в будущем."))
    if (date_to - date_from).days > BACKTEST_MAX_DAYS:
        raise ValidationError(_("Период длиннее трёх лет."))
    with transaction.atomic():
        version.backtest_status, version.backtest = BacktestStatus.QUEUED, None
        version.backtest_from, version.backtest_to = date_from, date_to
        version.save(update_fields=["backtest_status", "backtest", "backtest_from", "backtest_to"])
        audit_event_record(
            actor=actor,
            action="rule.version_backtest_requested",
            obj=version,
            ip=ip,
            details={"from": date_from.isoformat(), "to": date_to.isoformat()},
        )
    return version


def version_publish(*, version: RuleVersion, effective_from: date, actor: User, ip: str | None = None):
    """Publish a backtested draft from a day on (today or later, not before the last published one's day).
    The versions published before are superseded; the scan switches on that day."""
    today = timezone.localdate()
    with transaction.atomic():
        Rule.objects.select_for_update().filter(pk=version.rule_id).first()
        version.refresh_from_db()
        if version.status != RuleVersionStatus.DRAFT:
            raise ValidationError(_("Опубликовать можно только черновик."))
        if version.backtest_status != BacktestStatus.FINISHED:
            raise ValidationError(_("Сначала проверьте черновик на истории."))
        if effective_from < today:
            raise ValidationError(_("Дата начала действия не может быть в прошлом."))
        latest = version.rule.versions.filter(status__in=LIVE_STATUSES).aggregate(d=Max("effective_from"))["d"]
        if latest is not None and effective_from < latest:
            raise ValidationError(
                _("Дата начала действия раньше, чем у последней опубликованной версии (%(date)s).")
                % {"date": latest.strftime("%d.%m.%Y")}
            )
        live_before = version_live(rule=version.rule)
        superseded = list(
            version.rule.versions.filter(status=RuleVersionStatus.PUBLISHED).values_list("number", flat=True)
        )
        version.rule.versions.filter(status=RuleVersionStatus.PUBLISHED).update(status=RuleVersionStatus.SUPERSEDED)
        version.status, version.effective_from = RuleVersionStatus.PUBLISHED, effective_from
        version.published_by, version.published_at = actor, timezone.now()
        version.save(update_fields=["status", "effective_from", "published_by", "published_at"])
        if effective_from <= today:
            rules_mirror(versions={version.rule_id: version})
        audit_event_record(
            actor=actor,
            action="rule.version_published",
            obj=version,
            ip=ip,
            before=version_state(live_before) if live_before else None,
            after=version_state(version),
            details={"changes": params_diff(live_before, version), "superseded": superseded},
        )
    return version
