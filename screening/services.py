"""Screening the counterparties against the lists in force, and the reviewers' decisions.

`screen_run` compares every foreign platform (name and slug), every operator's legal name and AML
officer (registry and latest profile filing) and every register wallet with the entries of the
latest version of each list. Idempotent: a hit is keyed by (kind, subject, list, entry id) and only
updated on a rerun; a dismissed hit is reopened only when its entry's content hash changed.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from auditlog.services import audit_event_record
from operators.access import Access
from operators.models import ForeignPlatform, Operator, OperatorProfileRecord
from screening.formats.base import domain_of, wallet_key
from screening.imports import lists_in_force
from screening.matching import ORG, PER, block_keys, names_match, type_of
from screening.models import (
    Hit,
    HitKind,
    HitStatus,
    ListEntry,
    ListImport,
    PlatformAlias,
    RegisterWallet,
    SanctionedPlatform,
)
from screening.wallets import wallets_collect

PERSONS = ("Person",)
NOT_PERSONS = ("Organization", "Company", "LegalEntity", "PublicBody")


def min_score() -> float:
    return float(getattr(settings, "SCREENING_MIN_SCORE", 0.8))


@dataclass(frozen=True)
class Subject:
    kind: str
    subject: str
    names: tuple[str, ...]
    platform_id: int | None = None
    operator_id: int | None = None
    domains: tuple[str, ...] = ()


def subjects() -> list[Subject]:
    aliases, domains = defaultdict(list), defaultdict(list)
    for alias in PlatformAlias.objects.order_by("platform_id", "kind", "value"):
        if alias.kind == PlatformAlias.Kind.DOMAIN:
            domains[alias.platform_id].append(domain_of(alias.value) or alias.value.strip().lower())
        else:
            aliases[alias.platform_id].append(alias.value)
    out = [
        Subject(
            HitKind.PLATFORM,
            p.slug,
            tuple(dict.fromkeys([p.name, p.slug, *aliases[p.pk]])),
            platform_id=p.pk,
            domains=tuple(domains[p.pk]),
        )
        for p in ForeignPlatform.objects.order_by("slug")
    ]
    profiles = {}
    for record in OperatorProfileRecord.objects.order_by("operator_id", "-filing__submitted_at", "-id"):
        profiles.setdefault(record.operator_id, record)
    for op in Operator.objects.order_by("unp"):
        profile = profiles.get(op.pk)
        names = [op.name, profile.name if profile else ""]
        officers = [op.aml_officer, profile.aml_officer if profile else ""]
        names, officers = tuple(dict.fromkeys(n for n in names if n)), tuple(dict.fromkeys(o for o in officers if o))
        if names:
            out.append(Subject(HitKind.OPERATOR, op.unp, names, operator_id=op.pk))
        if officers:
            out.append(Subject(HitKind.OFFICER, op.unp, officers, operator_id=op.pk))
    return out


class Index:
    """The entries of the lists in force, blocked by name keys, wallets and domains."""

    def __init__(self, versions: list[ListImport]):
        self.entries: dict[int, ListEntry] = {}
        self.by_key: dict[tuple[bool, str], set[int]] = defaultdict(set)
        self.by_wallet: dict[str, set[int]] = defaultdict(set)
        self.by_domain: dict[str, set[int]] = defaultdict(set)
        self.list_of = {v.pk: v.list_name for v in versions}
        for entry in ListEntry.objects.filter(list_import__in=versions).iterator(chunk_size=2000):
            self.entries[entry.pk] = entry
            person = entry.schema in PERSONS
            for name in entry.names:
                for key in block_keys(type_of(entry.schema), name):
                    self.by_key[(person, key)].add(entry.pk)
            for w in entry.wallets:
                self.by_wallet[wallet_key(w)].add(entry.pk)
            for d in entry.domains:
                self.by_domain[d].add(entry.pk)

    def candidates(self, names, *, person: bool) -> set[int]:
        found = set()
        for name in names:
            for key in block_keys(PER if person else ORG, name):
                found |= self.by_key.get((person, key), set())
        return found


def _matches(index: Index, subject: Subject, threshold: float):
    """(entry, score, matched name) for the subject's matches at or above the threshold."""
    if subject.kind == HitKind.WALLET:
        for pk in index.by_wallet.get(wallet_key(subject.subject), ()):
            yield index.entries[pk], 1.0, subject.subject
        return
    person = subject.kind == HitKind.OFFICER
    tag = PER if person else ORG
    for pk in sorted(index.candidates(subject.names, person=person)):
        entry = index.entries[pk]
        match = names_match(tag, subject.names, entry.names)
        if match.score >= threshold:
            yield entry, match.score, match.matched
    if subject.kind == HitKind.PLATFORM:
        # Its websites (kept by supervisors), and its slug as a website's name: "garantex" for garantex.org.
        for domain, pks in index.by_domain.items():
            if domain in subject.domains or domain.split(".")[0] == subject.subject.replace("-", ""):
                for pk in pks:
                    yield index.entries[pk], 1.0, domain


def screen_run(*, actor: User | None = None) -> dict:
    """Screen every counterparty now; returns {"hits": [...current hits...], "opened", "reopened", "kept"}."""
    wallets_collect()
    versions = lists_in_force()
    index = Index(versions)
    threshold = min_score()
    now = timezone.now()
    found: dict[tuple, tuple] = {}
    all_subjects = subjects() + [
        Subject(HitKind.WALLET, address, (address,), operator_id=None)
        for address in RegisterWallet.objects.values_list("address", flat=True).distinct().order_by("address")
    ]
    for subject in all_subjects:
        for entry, score, matched in _matches(index, subject, threshold):
            key = (subject.kind, subject.subject, index.list_of[entry.list_import_id], entry.entry_id)
            if key not in found or found[key][1] < score:
                found[key] = (subject, score, matched, entry)
    counts = {"opened": 0, "reopened": 0, "kept": 0}
    with transaction.atomic():
        existing = {(h.kind, h.subject, h.list_name, h.entry_id): h for h in Hit.objects.select_for_update()}
        for key, (subject, score, matched, entry) in sorted(found.items()):
            hit = existing.get(key)
            if hit is None:
                hit = Hit.objects.create(
                    kind=subject.kind,
                    subject=subject.subject,
                    subject_name=", ".join(subject.names)[:500],
                    platform_id=subject.platform_id,
                    operator_id=subject.operator_id,
                    list_name=key[2],
                    entry_id=entry.entry_id,
                    list_entry=entry,
                    entry_hash=entry.content_hash,
                    matched_name=matched[:500],
                    score=score,
                    last_seen=now,
                )
                counts["opened"] += 1
                audit_event_record(actor=actor, action="screening.hit_opened", obj=hit, after=_hit_json(hit))
                continue
            changed = hit.entry_hash != entry.content_hash
            reopen = hit.status == HitStatus.DISMISSED and hit.decided_hash != entry.content_hash
            hit.list_entry, hit.entry_hash = entry, entry.content_hash
            hit.score, hit.matched_name = score, matched[:500]
            hit.current, hit.last_seen = True, now
            if reopen:
                hit.status = HitStatus.OPEN
                counts["reopened"] += 1
                audit_event_record(
                    actor=actor, action="screening.hit_reopened", obj=hit, details={"entry_changed": changed}
                )
            else:
                counts["kept"] += 1
            hit.save()
        gone = [h.pk for key, h in existing.items() if key not in found and h.current]
        Hit.objects.filter(pk__in=gone).update(current=False)
        ListImport.objects.filter(pk__in=[v.pk for v in versions]).update(screened_at=now)
    hits = Hit.objects.filter(current=True).order_by("kind", "subject", "list_name", "entry_id")
    return {"hits": [_hit_json(h) for h in hits], **counts, "gone": len(gone)}


def rescreen_due() -> bool:
    """A list version in force has not been screened yet, or a register's wallets are still unread,
    or the registry or platforms changed since (the nightly job screens then; otherwise nothing to do)."""
    versions = lists_in_force()
    if not versions:
        return False
    if any(v.screened_at is None for v in versions):
        return True
    last = min(v.screened_at for v in versions)
    return (
        ForeignPlatform.objects.filter(updated_at__gt=last).exists()
        or PlatformAlias.objects.filter(updated_at__gt=last).exists()
        or Operator.objects.filter(updated_at__gt=last).exists()
        or OperatorProfileRecord.objects.filter(filing__processed_at__gt=last).exists()
        or RegisterWallet.objects.filter(filing__processed_at__gt=last).exists()
    )


def _hit_json(hit: Hit) -> dict:
    return {
        "kind": hit.kind,
        "subject": hit.subject,
        "score": round(hit.score, 4),
        "entry": hit.entry_id,
        "list": hit.list_name,
        "status": hit.status,
    }


def hit_decide(
    *, hit: Hit, access: Access, actor: User, decision: str, reason: str, listed_on: date | None = None, ip=None
) -> Hit:
    """Confirm a hit (a platform becomes sanctioned from `listed_on`) or dismiss it as a false positive
    (a reason is required; it stays dismissed until the entry changes). SCC auditors and supervisors."""
    if not access.can_review:
        raise PermissionDenied
    reason = (reason or "").strip()
    if decision not in (HitStatus.CONFIRMED, HitStatus.DISMISSED):
        raise ValidationError("decision")
    if decision == HitStatus.DISMISSED and not reason:
        raise ValidationError({"reason": "required"})
    with transaction.atomic():
        hit = Hit.objects.select_for_update(of=("self",)).select_related("list_entry").get(pk=hit.pk)
        before = {"status": hit.status, "reason": hit.reason}
        if decision == HitStatus.CONFIRMED and hit.kind == HitKind.PLATFORM:
            listed_on = listed_on or (hit.list_entry.listed_on if hit.list_entry else None)
            if listed_on is None:
                raise ValidationError({"listed_on": "required"})
            SanctionedPlatform.objects.update_or_create(
                platform_id=hit.platform_id, defaults={"listed_on": listed_on, "hit": hit, "confirmed_by": actor}
            )
        hit.status, hit.reason, hit.decided_by, hit.decided_at = decision, reason, actor, timezone.now()
        hit.decided_hash = hit.entry_hash
        hit.save()
        audit_event_record(
            actor=actor,
            action=f"screening.hit_{'confirm' if decision == HitStatus.CONFIRMED else 'dismiss'}",
            obj=hit,
            ip=ip,
            before=before,
            after={**_hit_json(hit), "reason": reason, "listed_on": listed_on},
        )
    return hit
