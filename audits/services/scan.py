"""The violation scan: every enabled rule over the whole registry, then the flags reconciled.

One scan at a time (a cache lock). Each finding is a flag found again by its fingerprint:
new ones open, active ones get fresh evidence, cleared ones and materially changed dismissed
ones open again, and active flags no rule found any more are cleared. Then the risk scores.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_event_record, event_content, events_append, jsonable
from audits.models import ACTIVE_STATUSES, Flag, FlagStatus, Rule, ScanRun, ScanStatus
from audits.rules import RULES, TRANSFER_RULES
from audits.rules.base import ScanContext
from audits.services.deadlines import deadlines_current, flag_due_date
from audits.services.risk import risk_recompute
from audits.services.state import User, flag_state
from audits.services.versions import rule_with, rules_mirror, versions_effective, versions_seed
from config.locks import cache_lock_release, cache_lock_take

SCAN_LOCK_KEY = "audits:scan-lock"
SCAN_LOCK_SECONDS = 60 * 60  # longer than any scan; a crashed scan frees the lock after it
# A dismissed flag comes back only when one of its material figures moved by more than this.
DEFAULT_MATERIAL_CHANGE = 0.2


class ScanAlreadyRunning(RuntimeError):
    pass


@dataclass
class ScanResult:
    scan: ScanRun
    opened: int = 0
    kept: int = 0
    cleared: int = 0
    timings: dict = field(default_factory=dict)


def _materially_changed(old: dict | None, new: dict, threshold: float) -> bool:
    if old is None:
        return False
    if set(old) != set(new):
        return True
    for name, value in new.items():
        before = old[name]
        if isinstance(value, int | float) and isinstance(before, int | float):
            base = max(abs(value), abs(before))
            if base and abs(value - before) / base > threshold:
                return True
        elif value != before:
            return True
    return False


def scan_run(*, requested_by: User = None, now: datetime | None = None) -> ScanResult:
    """Run every enabled rule over the whole registry and reconcile the flags.

    One scan at a time (cache lock; raises ScanAlreadyRunning). Idempotent: a second scan
    over the same data opens, clears and rewrites nothing. Never changes a confirmed,
    dismissed or referred flag, except that a dismissed flag whose material evidence
    moved comes back open. The number of queries does not depend on the number of operators.
    """
    token = cache_lock_take(SCAN_LOCK_KEY, timeout=SCAN_LOCK_SECONDS)
    if token is None:
        raise ScanAlreadyRunning("a violation scan is already running")
    try:
        return _scan(requested_by=requested_by, now=now or timezone.now())
    finally:
        cache_lock_release(SCAN_LOCK_KEY, token)


def _scan(*, requested_by: User, now: datetime) -> ScanResult:
    requested = requested_by if requested_by is not None and requested_by.is_authenticated else None
    scan = ScanRun.objects.create(started_at=now, requested_by=requested)
    result = ScanResult(scan=scan)
    try:
        ctx = ScanContext(now=now)
        # Each rule as its version in force on the scan's day (audits.services.versions); version 1 is
        # made first for a rule that has none yet (added by a later migration).
        versions_seed()
        in_force = versions_effective(on=ctx.today, rules=Rule.objects.filter(code__in=list(RULES)))
        if ctx.today == timezone.localdate():
            rules_mirror(versions=in_force)
        rules = [
            rule_with(rule, in_force[rule.pk])
            for rule in Rule.objects.filter(pk__in=[pk for pk, v in in_force.items() if v.enabled])
        ]
        candidates: dict[str, tuple[Rule, Any]] = {}
        if any(rule.code in TRANSFER_RULES for rule in rules):
            started = time.monotonic()
            ctx.transfers  # noqa: B018 - the shared passes over the transfers, timed on their own
            result.timings["transfer_passes"] = round(time.monotonic() - started, 3)
        for rule in rules:
            started = time.monotonic()
            for cand in RULES[rule.code](rule=rule, ctx=ctx):
                candidates[cand.fingerprint(rule.code)] = (rule, cand)
            result.timings[rule.code] = round(time.monotonic() - started, 3)
        started = time.monotonic()
        with transaction.atomic():
            _reconcile(rules=rules, versions=in_force, candidates=candidates, now=now, result=result, actor=requested)
            risk_recompute(now=now)
        result.timings["reconcile"] = round(time.monotonic() - started, 3)
    except Exception as exc:
        scan.status = ScanStatus.FAILED
        scan.error = repr(exc)[:2000]
        scan.finished_at = timezone.now()
        scan.save()
        raise
    scan.status = ScanStatus.FINISHED
    scan.finished_at = timezone.now()
    scan.opened, scan.kept, scan.cleared, scan.timings = result.opened, result.kept, result.cleared, result.timings
    scan.save()
    audit_event_record(
        actor=requested,
        action="scan.finished",
        obj=scan,
        details={"opened": result.opened, "kept": result.kept, "cleared": result.cleared},
    )
    return result


def _reconcile(
    *, rules: list[Rule], versions: dict, candidates: dict, now: datetime, result: ScanResult, actor
) -> None:
    existing = {
        f.fingerprint: f
        for f in Flag.objects.select_for_update()
        .filter(rule__in=rules)
        .only(
            "id",
            "fingerprint",
            "status",
            "evidence",
            "material",
            "dismissed_material",
            "severity",
            "subject",
            "rule_id",
            "operator_id",
            "assignee_id",
            "decision_reason",
            "referred_to",
            "due_date",
            "rule_version_id",
        )
    }
    create: list[Flag] = []
    update: list[Flag] = []
    # A flag that opens (or opens again) is due by its severity's deadline, counted from today (Minsk).
    deadlines, today = deadlines_current(), timezone.localdate(now)
    events: list[tuple[Flag, str, dict, dict]] = []
    for fingerprint, (rule, cand) in candidates.items():
        flag = existing.get(fingerprint)
        if flag is None:
            create.append(
                Flag(
                    operator_id=cand.operator_id,
                    rule=rule,
                    fingerprint=fingerprint,
                    subject=cand.subject[:255],
                    evidence=jsonable(cand.evidence),
                    material=jsonable(cand.material),
                    severity=rule.severity,
                    status=FlagStatus.OPEN,
                    evidence_updated_at=now,
                    due_date=flag_due_date(severity=rule.severity, opened_on=today, deadlines=deadlines),
                    rule_version=versions[rule.pk],
                )
            )
            result.opened += 1
            continue
        evidence, material = jsonable(cand.evidence), jsonable(cand.material)
        before = flag_state(flag)
        if flag.status in ACTIVE_STATUSES:
            reopened = None
        elif flag.status == FlagStatus.CLEARED:
            # The condition is back: the same flag opens again (its history stays with it).
            reopened = {"reason": "condition found again"}
            flag.cleared_at = None
        elif flag.status == FlagStatus.DISMISSED and _materially_changed(
            flag.dismissed_material,
            material,
            float((rule.parameters or {}).get("material_change", DEFAULT_MATERIAL_CHANGE)),
        ):
            reopened = {
                "reason": "evidence changed materially",
                "dismissed_material": flag.dismissed_material,
                "material": material,
            }
        else:
            result.kept += 1  # an auditor's decision stands
            continue
        # The evidence as found now: refreshed when it moved, and always on a flag that opens again.
        fresh = (evidence, material, cand.subject[:255], rule.severity)
        if reopened is not None or (flag.evidence, flag.material, flag.subject, flag.severity) != fresh:
            flag.evidence, flag.material, flag.subject, flag.severity = fresh
            flag.evidence_updated_at = now
            update.append(flag)
        if reopened is None:
            result.kept += 1
            continue
        flag.status = FlagStatus.OPEN
        flag.rule_version = versions[rule.pk]  # the version that opened it again
        flag.due_date = flag_due_date(severity=flag.severity, opened_on=today, deadlines=deadlines)
        events.append((flag, "flag.reopened_by_scan", before, reopened))
        result.opened += 1
    for fingerprint, flag in existing.items():
        if fingerprint not in candidates and flag.status in ACTIVE_STATUSES:
            before = flag_state(flag)
            flag.status, flag.cleared_at = FlagStatus.CLEARED, now
            update.append(flag)
            events.append((flag, "flag.cleared", before, {"reason": "condition no longer found"}))
            result.cleared += 1
    Flag.objects.bulk_create(create, batch_size=1000)
    if update:
        for flag in update:
            flag.updated_at = now  # bulk_update does not apply auto_now
        Flag.objects.bulk_update(
            update,
            [
                "status",
                "cleared_at",
                "evidence",
                "material",
                "subject",
                "severity",
                "evidence_updated_at",
                "due_date",
                "rule_version",
                "updated_at",
            ],
            batch_size=1000,
        )
    contents = [
        event_content(
            actor=actor,
            action="flag.opened",
            obj=f,
            ip=None,
            before=None,
            after=flag_state(f),
            details={"rule": f.rule.code, "fingerprint": f.fingerprint, "rule_version": f.rule_version.number},
        )
        for f in create
    ]
    contents += [
        event_content(actor=actor, action=action, obj=f, ip=None, before=before, after=flag_state(f), details=det)
        for f, action, before, det in events
    ]
    events_append(contents)
