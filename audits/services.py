"""Writes of the audits app: the audit log, the violation scan, the review workflow,
the risk score and the filing reminders.

Every state change of a flag goes through a function here; views, admin actions,
commands and tasks only call them.
"""

import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from audits.chain import GENESIS_HASH, HASH_TAIL, event_hash, event_hash_prefix
from audits.models import (
    Agency,
    AuditChainHead,
    AuditEvent,
    Flag,
    FlagNote,
    FlagStatus,
    NoteKind,
    OperatorRisk,
    ReminderKind,
    ReminderSent,
    Rule,
    ScanRun,
    ScanStatus,
    Severity,
)
from audits.rules import RULES, TRANSFER_RULES
from audits.rules.base import FILED_STATUSES, ScanContext
from operators.calendar import calendar_rules, periods_owed, working_days_before
from operators.models import Operator, OperatorMembership, OperatorStatus, RegistrationFiling
from operators.roles import is_auditor, operator_ids_for

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None

# --- Audit log ---------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back when read (dates, decimals, UUIDs as strings),
    so that the hash computed now matches the hash recomputed by verify_audit_log."""
    if value is None:
        return None
    text = json.dumps(value, cls=DjangoJSONEncoder)
    # json.dumps writes NUL as \u0000: without one, there is nothing for _without_nul to replace.
    return _without_nul(json.loads(text)) if "\\u0000" in text else json.loads(text)


def _without_nul(value: Any) -> Any:
    # PostgreSQL refuses NUL in text and jsonb; a hostile URL or upload name must not turn a
    # logged refusal into a 500. NUL becomes U+FFFD (the replacement character).
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def _event_content(
    *, actor: User, action: str, obj: models.Model | None, ip: str | None, before, after, details
) -> dict:
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return {
        "created_at": timezone.now(),
        "actor_id": actor.pk if authenticated else None,
        "actor_username": actor.get_username()[:150] if authenticated else "",
        "ip": (ip or "")[:45],
        "action": action[:64],
        "object_type": obj._meta.label_lower if obj is not None else "",
        "object_id": str(obj.pk) if obj is not None and obj.pk is not None else "",
        "object_repr": _without_nul(str(obj)[:255]) if obj is not None else "",
        "before": _jsonable(before),
        "after": _jsonable(after),
        "details": _jsonable(details),
    }


def hashable(content: dict) -> dict:
    """An event's content as hashed: the time as a UTC ISO string with microseconds."""
    result = dict(content)
    result["created_at"] = content["created_at"].astimezone(UTC).isoformat()
    return result


def _chain_head_locked() -> AuditChainHead:
    """The chain head, locked FOR UPDATE until the transaction ends: appends are serialised."""
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        try:
            with transaction.atomic():
                AuditChainHead.objects.create(pk=1, last_event_id=0, last_hash=GENESIS_HASH)
        except IntegrityError:
            pass  # another writer created it first
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _events_append(contents: list[dict]) -> list[AuditEvent]:
    if not contents:
        return []
    if connection.vendor == "postgresql":
        return _events_append_sql(contents)
    return _events_append_orm(contents)


def _events_append_orm(contents: list[dict]) -> list[AuditEvent]:
    """Any database: lock the head, chain in Python, one INSERT, move the head (five statements)."""
    with transaction.atomic():
        head = _chain_head_locked()
        prev = head.last_hash
        events = []
        for content in contents:
            content = {**content, "prev_hash": prev}
            digest = event_hash(hashable(content))
            events.append(AuditEvent(**content, hash=digest))
            prev = digest
        # One INSERT; ids come from the sequence while the head is locked, so id order is chain order.
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        if events[-1].pk is None:  # backends that do not return ids from bulk inserts
            events = list(AuditEvent.objects.filter(hash__in=[e.hash for e in events]).order_by("id"))
        head.last_event_id = events[-1].pk
        head.last_hash = prev
        head.save(update_fields=["last_event_id", "last_hash"])
    return events


_APPEND_SQL = "SELECT event_id, event_prev_hash, event_hash FROM audits_events_append(%s::jsonb)"


def _events_append_sql(contents: list[dict]) -> list[AuditEvent]:
    """PostgreSQL: one statement, the function audits_events_append (migration 0005).

    It locks the head, chains, inserts and moves the head in the caller's transaction;
    outside one (autocommit, as API requests run) the events are committed when it returns.
    It replaces five round trips (BEGIN, SELECT ... FOR UPDATE, INSERT, UPDATE, COMMIT) and four
    ORM query compilations: about 2 ms of CPU per event, on every API pull, down to about 0.4.
    """
    # created_at goes as the very text that is hashed (UTC, microseconds), read back as timestamptz.
    batch = [hashable(content) for content in contents]
    for hashed in batch:
        hashed["hash_prefix"] = event_hash_prefix(hashed)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, [json.dumps(batch)])
        rows = cursor.fetchall()
    events = []
    for content, hashed, (pk, prev, digest) in zip(contents, batch, rows, strict=True):
        prefix = hashed["hash_prefix"]
        # The database hashed the same bytes event_hash hashes. A difference (it would be a bug)
        # would show only as a break at the next verify_audit_log: fail loudly now instead.
        if hashlib.sha256(f"{prefix}{prev}{HASH_TAIL}".encode()).hexdigest() != digest:
            raise RuntimeError(f"audit event #{pk}: PostgreSQL's hash differs from event_hash")
        event = AuditEvent(id=pk, **content, prev_hash=prev, hash=digest)
        event._state.adding = False
        event._state.db = connection.alias
        events.append(event)
    return events


def audit_event_record(
    *,
    actor: User,
    action: str,
    obj: models.Model | None = None,
    ip: str | None = None,
    before: Any = None,
    after: Any = None,
    details: Any = None,
) -> AuditEvent:
    """Append one event to the audit log (transactional; joins the caller's transaction).

    For every auditor or supervisor action, export and API data pull. `before`/`after`/`details`
    must be JSON-serialisable (DjangoJSONEncoder: dates, decimals allowed).
    """
    content = _event_content(actor=actor, action=action, obj=obj, ip=ip, before=before, after=after, details=details)
    return _events_append([content])[0]


# --- The scan -------------------------------------------------------------------------

SCAN_LOCK_KEY = "audits:scan-lock"
SCAN_LOCK_SECONDS = 60 * 60  # longer than any scan; a crashed scan frees the lock after it
ACTIVE_STATUSES = (FlagStatus.OPEN, FlagStatus.IN_REVIEW)
DECIDED_STATUSES = (FlagStatus.CONFIRMED, FlagStatus.DISMISSED, FlagStatus.REFERRED)
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


def _flag_state(flag: Flag) -> dict:
    return {
        "status": flag.status,
        "assignee": flag.assignee_id,
        "severity": flag.severity,
        "decision_reason": flag.decision_reason,
        "referred_to": flag.referred_to,
    }


def scan_run(*, requested_by: User = None, now: datetime | None = None) -> ScanResult:
    """Run every enabled rule over the whole registry and reconcile the flags.

    One scan at a time (cache lock; raises ScanAlreadyRunning). Idempotent: a second scan
    over the same data opens, clears and rewrites nothing. Never changes a confirmed,
    dismissed or referred flag, except that a dismissed flag whose material evidence
    moved comes back open. The number of queries does not depend on the number of operators.
    """
    token = uuid.uuid4().hex
    if not cache.add(SCAN_LOCK_KEY, token, timeout=SCAN_LOCK_SECONDS):
        raise ScanAlreadyRunning("a violation scan is already running")
    try:
        return _scan(requested_by=requested_by, now=now or timezone.now())
    finally:
        if cache.get(SCAN_LOCK_KEY) == token:
            cache.delete(SCAN_LOCK_KEY)


def _scan(*, requested_by: User, now: datetime) -> ScanResult:
    requested = requested_by if requested_by is not None and requested_by.is_authenticated else None
    scan = ScanRun.objects.create(started_at=now, requested_by=requested)
    result = ScanResult(scan=scan)
    try:
        ctx = ScanContext(now=now)
        rules = list(Rule.objects.filter(enabled=True, code__in=list(RULES)))
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
            _reconcile(rules=rules, candidates=candidates, now=now, result=result, actor=requested)
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


def _reconcile(*, rules: list[Rule], candidates: dict, now: datetime, result: ScanResult, actor) -> None:
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
        )
    }
    create: list[Flag] = []
    update: list[Flag] = []
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
                    evidence=_jsonable(cand.evidence),
                    material=_jsonable(cand.material),
                    severity=rule.severity,
                    status=FlagStatus.OPEN,
                    evidence_updated_at=now,
                )
            )
            result.opened += 1
            continue
        evidence, material = _jsonable(cand.evidence), _jsonable(cand.material)
        before = _flag_state(flag)
        if flag.status in ACTIVE_STATUSES:
            result.kept += 1
            if (flag.evidence, flag.material, flag.subject, flag.severity) != (
                evidence,
                material,
                cand.subject[:255],
                rule.severity,
            ):
                flag.evidence, flag.material, flag.subject, flag.severity = (
                    evidence,
                    material,
                    cand.subject[:255],
                    rule.severity,
                )
                flag.evidence_updated_at = now
                update.append(flag)
        elif flag.status == FlagStatus.CLEARED:
            # The condition is back: the same flag opens again (its history stays with it).
            flag.status, flag.cleared_at = FlagStatus.OPEN, None
            flag.evidence, flag.material, flag.subject, flag.severity = (
                evidence,
                material,
                cand.subject[:255],
                (rule.severity),
            )
            flag.evidence_updated_at = now
            update.append(flag)
            events.append((flag, "flag.reopened_by_scan", before, {"reason": "condition found again"}))
            result.opened += 1
        elif flag.status == FlagStatus.DISMISSED and _materially_changed(
            flag.dismissed_material,
            material,
            float((rule.parameters or {}).get("material_change", DEFAULT_MATERIAL_CHANGE)),
        ):
            flag.status = FlagStatus.OPEN
            flag.evidence, flag.material, flag.subject, flag.severity = (
                evidence,
                material,
                cand.subject[:255],
                (rule.severity),
            )
            flag.evidence_updated_at = now
            update.append(flag)
            events.append(
                (
                    flag,
                    "flag.reopened_by_scan",
                    before,
                    {
                        "reason": "evidence changed materially",
                        "dismissed_material": flag.dismissed_material,
                        "material": material,
                    },
                )
            )
            result.opened += 1
        else:
            result.kept += 1  # an auditor's decision stands
    for fingerprint, flag in existing.items():
        if fingerprint not in candidates and flag.status in ACTIVE_STATUSES:
            before = _flag_state(flag)
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
                "updated_at",
            ],
            batch_size=1000,
        )
    contents = [
        _event_content(
            actor=actor,
            action="flag.opened",
            obj=f,
            ip=None,
            before=None,
            after=_flag_state(f),
            details={"rule": f.rule.code, "fingerprint": f.fingerprint},
        )
        for f in create
    ]
    contents += [
        _event_content(actor=actor, action=action, obj=f, ip=None, before=before, after=_flag_state(f), details=det)
        for f, action, before, det in events
    ]
    _events_append(contents)


# --- Review workflow ------------------------------------------------------------------


class FlagTransitionError(ValidationError):
    """The action is not allowed from the flag's current status (or lacks what it requires)."""


# action -> statuses it may start from. Enforced here, not in views.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "assign": ACTIVE_STATUSES,
    "take": ACTIVE_STATUSES,
    "confirm": ACTIVE_STATUSES,
    "dismiss": ACTIVE_STATUSES,
    "refer": (*ACTIVE_STATUSES, FlagStatus.CONFIRMED),
    "reopen": DECIDED_STATUSES,
}


def _require_auditor(actor: User) -> None:
    if actor is None or not is_auditor(actor):
        raise PermissionDenied


def _transition(*, flag: Flag, actor: User, action: str, ip: str | None, changes, details: dict | None = None) -> Flag:
    """Apply `changes` (a dict, or a function of the locked flag returning one) if `action` is allowed
    from the flag's current status; logs before/after. Raises PermissionDenied, FlagTransitionError."""
    _require_auditor(actor)
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.status not in TRANSITIONS[action]:
            raise FlagTransitionError(
                f"«{action}» is not allowed for a flag in status «{locked.status}»", code="illegal_transition"
            )
        before = _flag_state(locked)
        if callable(changes):
            changes = changes(locked)
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save()
        audit_event_record(
            actor=actor,
            action=f"flag.{action}",
            obj=locked,
            ip=ip,
            before=before,
            after=_flag_state(locked),
            details=details,
        )
    return locked


def flag_assign(*, flag: Flag, actor: User, assignee: AbstractBaseUser, ip: str | None = None) -> Flag:
    """Auditors: give an open or in-review flag to an auditor; it goes into review."""
    if not is_auditor(assignee):
        raise FlagTransitionError("a flag can only be assigned to an auditor", code="assignee_not_auditor")
    return _transition(
        flag=flag,
        actor=actor,
        action="assign",
        ip=ip,
        changes={"assignee": assignee, "status": FlagStatus.IN_REVIEW},
    )


def flag_take(*, flag: Flag, actor: User, ip: str | None = None) -> Flag:
    """Auditors: take an open or in-review flag for oneself."""
    return _transition(
        flag=flag, actor=actor, action="take", ip=ip, changes={"assignee": actor, "status": FlagStatus.IN_REVIEW}
    )


def flag_confirm(*, flag: Flag, actor: User, note: str = "", ip: str | None = None) -> Flag:
    """Auditors: the violation is real. Operator staff see confirmed flags and may answer."""
    with transaction.atomic():
        flag = _transition(
            flag=flag,
            actor=actor,
            action="confirm",
            ip=ip,
            changes={"status": FlagStatus.CONFIRMED, "decided_at": timezone.now(), "decision_reason": note.strip()},
        )
        if note.strip():
            flag_note_add(flag=flag, actor=actor, text=note, ip=ip)
    return flag


def flag_dismiss(*, flag: Flag, actor: User, reason: str, ip: str | None = None) -> Flag:
    """Auditors: not a violation; a reason is required. Stays dismissed unless its evidence changes materially."""
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to dismiss a flag", code="reason_required")
    return _transition(
        flag=flag,
        actor=actor,
        action="dismiss",
        ip=ip,
        # What the auditor dismissed, read under the lock: a later scan compares with it.
        changes=lambda locked: {
            "status": FlagStatus.DISMISSED,
            "decision_reason": reason.strip(),
            "decided_at": timezone.now(),
            "dismissed_material": locked.material,
        },
    )


def flag_refer(*, flag: Flag, actor: User, agency: str, reason: str, ip: str | None = None) -> Flag:
    """Auditors: refer to another agency (which one and why are required)."""
    if agency not in Agency.values:
        raise FlagTransitionError("unknown agency", code="agency_unknown")
    if not reason or not reason.strip():
        raise FlagTransitionError("a reason is required to refer a flag", code="reason_required")
    return _transition(
        flag=flag,
        actor=actor,
        action="refer",
        ip=ip,
        changes={
            "status": FlagStatus.REFERRED,
            "referred_to": agency,
            "decision_reason": reason.strip(),
            "decided_at": timezone.now(),
        },
    )


def flag_reopen(*, flag: Flag, actor: User, reason: str = "", ip: str | None = None) -> Flag:
    """Auditors: take back a decision (confirmed, dismissed, referred); the flag goes back into review."""
    return _transition(
        flag=flag,
        actor=actor,
        action="reopen",
        ip=ip,
        changes={"status": FlagStatus.IN_REVIEW, "decided_at": None, "dismissed_material": None},
        details={"reason": reason.strip()} if reason else None,
    )


def flag_note_add(*, flag: Flag, actor: User, text: str, ip: str | None = None) -> FlagNote:
    """Auditors: an internal note on a flag in any status (operator staff never see notes)."""
    _require_auditor(actor)
    if not text or not text.strip():
        raise FlagTransitionError("the note is empty", code="note_empty")
    with transaction.atomic():
        note = FlagNote.objects.create(flag=flag, kind=NoteKind.NOTE, author=actor, text=text.strip())
        audit_event_record(actor=actor, action="flag.note", obj=flag, ip=ip, details={"note": note.pk})
    return note


ANSWER_MAX_BYTES = 10 * 1024 * 1024
ANSWER_EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "txt", "csv", "xlsx", "docx", "doc", "odt", "zip"}


def flag_answer(
    *, flag: Flag, user: User, text: str, attachment: UploadedFile | None = None, ip: str | None = None
) -> FlagNote:
    """Operator staff: answer a confirmed flag of their own operator (text, optional attachment)."""
    if user is None or flag.operator_id not in operator_ids_for(user):
        raise PermissionDenied
    if flag.status != FlagStatus.CONFIRMED:
        raise FlagTransitionError("only confirmed flags can be answered", code="illegal_transition")
    if not text or not text.strip():
        raise FlagTransitionError("the answer is empty", code="answer_empty")
    name = ""
    if attachment is not None:
        name = (attachment.name or "attachment")[-255:]
        if attachment.size > ANSWER_MAX_BYTES:
            raise FlagTransitionError("the attachment is larger than 10 MB", code="attachment_too_large")
        if name.rsplit(".", 1)[-1].lower() not in ANSWER_EXTENSIONS:
            raise FlagTransitionError("this kind of attachment is not accepted", code="attachment_type")
    with transaction.atomic():
        note = FlagNote(flag=flag, kind=NoteKind.ANSWER, author=user, text=text.strip(), attachment_name=name)
        if attachment is not None:
            note.attachment.save(name, attachment, save=False)
        note.save()
        audit_event_record(
            actor=user, action="flag.answer", obj=flag, ip=ip, details={"note": note.pk, "attachment": name}
        )
    return note


# --- Risk score --------------------------------------------------------------------------

SEVERITY_POINTS = {Severity.LOW: 1, Severity.MEDIUM: 3, Severity.HIGH: 7, Severity.CRITICAL: 15}
STATUS_FACTOR = {
    FlagStatus.OPEN: Decimal("1"),
    FlagStatus.IN_REVIEW: Decimal("1"),
    FlagStatus.CONFIRMED: Decimal("1.5"),
}


def _age_factor(age_days: int) -> Decimal:
    # Old unresolved violations weigh more, up to three times after six months.
    return Decimal(1) + Decimal(min(max(age_days, 0), 180)) / Decimal(90)


def risk_recompute(*, now: datetime | None = None) -> int:
    """Recompute every operator's risk score from its open, in-review and confirmed flags:
    severity points x status factor (confirmed 1.5) x age factor (1 + age/90 days, at most 3).
    Writes only the scores that changed; returns how many."""
    now = now or timezone.now()
    flags = Flag.objects.filter(status__in=list(STATUS_FACTOR)).values(
        "id", "operator_id", "rule__code", "severity", "status", "opened_at"
    )
    parts: dict[int, list[dict]] = {}
    for f in flags:
        age = (now - f["opened_at"]).days
        points = (SEVERITY_POINTS[f["severity"]] * STATUS_FACTOR[f["status"]] * _age_factor(age)).quantize(
            Decimal("0.01")
        )
        parts.setdefault(f["operator_id"], []).append(
            {
                "flag": f["id"],
                "rule": f["rule__code"],
                "severity": f["severity"],
                "status": f["status"],
                "age_days": age,
                "points": str(points),
            }
        )
    current = {r.operator_id: r for r in OperatorRisk.objects.all()}
    create, update = [], []
    for operator_id in Operator.objects.values_list("id", flat=True):
        explanation = sorted(parts.get(operator_id, []), key=lambda p: (-Decimal(p["points"]), p["flag"]))
        score = sum((Decimal(p["points"]) for p in explanation), Decimal("0.00"))
        row = current.get(operator_id)
        if row is None:
            create.append(OperatorRisk(operator_id=operator_id, score=score, explanation=explanation, computed_at=now))
        elif row.score != score or row.explanation != explanation:
            row.score, row.explanation, row.computed_at = score, explanation, now
            update.append(row)
    OperatorRisk.objects.bulk_create(create, batch_size=1000)
    if update:
        OperatorRisk.objects.bulk_update(update, ["score", "explanation", "computed_at"], batch_size=1000)
    return len(create) + len(update)


# --- Reminders ---------------------------------------------------------------------------

REMINDER_WORKING_DAYS = 5
# On the first run, do not e-mail about periods missed long ago: only the last week.
MISSED_REMINDER_MAX_DAYS = 7


def reminders_send(*, today: date | None = None) -> int:
    """E-mail operator staff 5 working days before a filing is due (until it is filed) and on the
    day after it was missed. Idempotent: each (operator, kind, period, reminder) is sent once
    (ReminderSent); a failed send is forgotten so that the next run retries. Returns e-mails sent."""
    today = today or timezone.localdate()
    rules = calendar_rules()
    covered: dict[tuple[int, str], list[tuple]] = {}
    for f in RegistrationFiling.objects.filter(status__in=FILED_STATUSES).values(
        "operator_id", "kind", "period_start", "period_end"
    ):
        covered.setdefault((f["operator_id"], f["kind"]), []).append((f["period_start"], f["period_end"]))
    sent = set(ReminderSent.objects.values_list("operator_id", "filing_kind", "period_start", "reminder"))
    recipients: dict[int, set[str]] = {}
    for operator_id, email in (
        OperatorMembership.objects.filter(user__is_active=True)
        .exclude(user__email="")
        .values_list("operator_id", "user__email")
    ):
        recipients.setdefault(operator_id, set()).add(email)
    count = 0
    for op in Operator.objects.filter(status=OperatorStatus.ACTIVE):
        to = sorted(recipients.get(op.id, set()) | ({op.email} if op.email else set()))
        if not to:
            continue
        for period in periods_owed(operator=op, today=today, rules=rules):
            spans = covered.get((op.id, period.kind), ())
            if any(s <= period.period_start and e >= period.period_end for s, e in spans):
                continue
            if working_days_before(period.due_date, REMINDER_WORKING_DAYS) <= today <= period.due_date:
                kind = ReminderKind.DUE_SOON
            elif period.due_date < today <= period.due_date + timedelta(days=MISSED_REMINDER_MAX_DAYS):
                kind = ReminderKind.MISSED
            else:
                continue
            if (op.id, period.kind, period.period_start, kind) in sent:
                continue
            try:
                with transaction.atomic():
                    ReminderSent.objects.create(
                        operator=op,
                        filing_kind=period.kind,
                        period_start=period.period_start,
                        reminder=kind,
                        due_date=period.due_date,
                        recipients=to,
                    )
                    _reminder_mail(operator=op, period=period, kind=kind, to=to)
            except IntegrityError:
                continue  # another run sent it
            count += 1
    return count


def _reminder_mail(*, operator: Operator, period, kind: str, to: list[str]) -> None:
    start, end, due = period.period_start, period.period_end, period.due_date
    if kind == ReminderKind.DUE_SOON:
        subject = f"Напоминание: срок подачи отчёта {period.kind} за {start:%m.%Y} — {due:%d.%m.%Y}"
        body = (
            f"{operator.name} (УНП {operator.unp}): отчёт «{period.kind}» за период "
            f"{start:%d.%m.%Y}–{end:%d.%m.%Y} нужно подать до {due:%d.%m.%Y}.\n\n"
            f"Reminder: the {period.kind} filing for {start}–{end} is due on {due}."
        )
    else:
        subject = f"Срок подачи отчёта {period.kind} за {start:%m.%Y} пропущен"
        body = (
            f"{operator.name} (УНП {operator.unp}): отчёт «{period.kind}» за период "
            f"{start:%d.%m.%Y}–{end:%d.%m.%Y} не подан в срок ({due:%d.%m.%Y}). "
            f"Подайте его как можно скорее.\n\n"
            f"The {period.kind} filing for {start}–{end} was due on {due} and is missing."
        )
    send_mail(subject, body, None, to)
