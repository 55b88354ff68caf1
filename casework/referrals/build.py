"""What a referral package holds, read from the database (casework.referrals.package: the format).

The evidence a flag rests on is what its rule stored: the filings named in the evidence (`filing`, and the
`filings` lists of its row selectors, audits.rules.base.rows_selector) and the transfers its `transfers`
selectors select (the same filters the transfers page applies, outflows.selectors.transfer_list), plus the
filings those transfers came from.
"""

import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone, translation

from auditlog.chain import CONTENT_FIELDS, GENESIS_HASH
from auditlog.models import AuditChainHead, AuditEvent
from auditlog.services import hashable
from audits.models import Flag
from audits.selectors import flag_history
from audits.subjects import flag_subject
from config.exports import Column, csv_stream
from operators.access import AUDITOR, Access
from operators.models import RegistrationFiling
from outflows.models import CrossBorderTransfer
from outflows.selectors import transfer_list

from . import package as fmt

# The most transfer rows a package carries (package.json says when a flag's evidence selects more).
MAX_TRANSFERS = 50_000
SCC = Access(AUDITOR)
_TRANSFER_FILTERS = frozenset(inspect.signature(transfer_list).parameters) - {"access"}


def _dicts(value) -> Iterator[dict]:
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _dicts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _dicts(inner)


def evidence_selectors(evidence, list_name: str) -> list[dict]:
    """The distinct filters of the evidence's row selectors of one list ("transfers", "filings")."""
    found = []
    for d in _dicts(evidence):
        if d.get("list") == list_name and isinstance(d.get("filters"), dict):
            filters = {str(k): str(v) for k, v in d["filters"].items()}
            if filters and filters not in found:
                found.append(filters)
    return found


def evidence_filing_ids(evidence) -> set[int]:
    ids = set()
    for d in _dicts(evidence):
        if isinstance(d.get("filing"), int):
            ids.add(d["filing"])
    for filters in evidence_selectors(evidence, "filings"):
        ids.update(int(part) for part in str(filters.get("id", "")).split(",") if part.strip().isdigit())
    return ids


def evidence_transfer_ids(evidence) -> tuple[list[int], bool]:
    """Ids of the transfers the evidence selects (at most MAX_TRANSFERS) and whether there were more."""
    ids: set[int] = set()
    for filters in evidence_selectors(evidence, "transfers"):
        known = {k: v[:64] for k, v in filters.items() if k in _TRANSFER_FILTERS}
        if not known.get("operator"):
            continue  # never a whole-register selector
        ids.update(transfer_list(access=SCC, **known).values_list("id", flat=True)[: MAX_TRANSFERS + 1])
        if len(ids) > MAX_TRANSFERS:
            return sorted(ids)[:MAX_TRANSFERS], True
    return sorted(ids), False


TRANSFER_COLUMNS = [
    Column("№ строки", 10),
    Column("Внешний идентификатор", 20),
    Column("УНП оператора", 12),
    Column("Отчёт №", 10),
    Column("Время (Минск)", 20),
    Column("Направление", 10),
    Column("Инвестор", 20),
    Column("Платформа", 20),
    Column("Страна", 8),
    Column("Актив", 8),
    Column("Количество"),
    Column("Стоимость, BYN", 16, places=2),
]
HISTORY_COLUMNS = [
    Column("Событие №", 10),
    Column("Время (Минск)", 20),
    Column("Пользователь", 16),
    Column("Действие", 20),
    Column("Статус до", 12),
    Column("Статус после", 12),
    Column("Подробности", 40),
]


def _csv(columns, rows) -> bytes:
    return "".join(csv_stream(columns=columns, rows=rows, language="ru")).encode("utf-8")


def _transfer_rows(ids: list[int]) -> Iterator[list]:
    rows = CrossBorderTransfer.objects.filter(id__in=ids).select_related("operator", "platform")
    for t in rows.order_by("occurred_at", "id").iterator(chunk_size=2000):
        yield [
            t.pk,
            t.external_id,
            t.operator.unp,
            t.filing_id,
            t.occurred_at,
            t.direction,
            t.investor_ref,
            t.platform.slug,
            t.platform.country,
            t.asset,
            t.amount,
            t.value_byn,
        ]


def _state(value, key: str) -> str:
    return str(value.get(key, "")) if isinstance(value, dict) else ""


def _history_rows(events: list[AuditEvent]) -> Iterator[list]:
    for e in events:
        details = json.dumps(e.details, ensure_ascii=False, sort_keys=True) if e.details else ""
        yield [
            e.pk,
            e.created_at,
            e.actor_username,
            e.action,
            _state(e.before, "status"),
            _state(e.after, "status"),
            details,
        ]


def _safe_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[-80:] or "file"


def _filing_entry(filing: RegistrationFiling) -> tuple[dict, bytes | None]:
    entry = {
        "id": filing.pk,
        "kind": filing.kind,
        "period_start": filing.period_start.isoformat(),
        "period_end": filing.period_end.isoformat(),
        "status": filing.status,
        "submitted_at": filing.submitted_at.isoformat(),
        "original_name": filing.original_name,
        "size": filing.size_bytes,
        "sha256": filing.sha256,
        "member": None,
    }
    try:
        with filing.file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError):
        entry["missing"] = "the stored file could not be read"
        return entry, None
    entry["member"] = f"filings/{filing.pk}-{_safe_name(filing.original_name)}"
    return entry, data


@dataclass
class Chain:
    from_event_id: int
    head_event_id: int
    head_hash: str
    events: list[dict] = field(default_factory=list)


def _chain(flag_events: list[AuditEvent]) -> tuple[bytes, bytes, Chain]:
    """The extract (the flag's events, full content) and the segment (every link from the first to the head)."""
    head = AuditChainHead.objects.filter(pk=1).values("last_event_id", "last_hash").first()
    head_id, head_hash = (head["last_event_id"], head["last_hash"]) if head else (0, GENESIS_HASH)
    ids = [e.pk for e in flag_events if e.pk <= head_id]
    first = min(ids) if ids else head_id
    rows = AuditEvent.objects.filter(pk__in=ids).order_by("id").values("id", "hash", *CONTENT_FIELDS)
    extract = []
    for row in rows:
        content = hashable({k: row[k] for k in CONTENT_FIELDS})
        extract.append({"id": row["id"], "hash": row["hash"], "content": content})
    links = (
        AuditEvent.objects.filter(pk__gte=first, pk__lte=head_id)
        .order_by("id")
        .values_list("id", "prev_hash", "hash")
        .iterator(chunk_size=5000)
    )
    header = {"from_event_id": first, "head_event_id": head_id, "head_hash": head_hash}
    segment = [header, *({"id": i, "prev_hash": p, "hash": h} for i, p, h in links)]
    return fmt.jsonl(extract), fmt.jsonl(segment), Chain(first, head_id, head_hash, extract)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _flag_json(flag: Flag) -> dict:
    with translation.override("ru"):
        subject = flag_subject(flag)
        return {
            "id": flag.pk,
            "fingerprint": flag.fingerprint,
            "rule": {"code": flag.rule.code, "title": flag.rule.title},
            "operator": {"id": flag.operator_id, "unp": flag.operator.unp, "name": flag.operator.name},
            "subject": subject,
            "subject_stored": flag.subject,
            "severity": flag.severity,
            "status": flag.status,
            "referred_to": flag.referred_to,
            "referred_to_label": str(flag.get_referred_to_display()),
            "decision_reason": flag.decision_reason,
            "opened_at": _iso(flag.opened_at),
            "decided_at": _iso(flag.decided_at),
            "due_date": flag.due_date.isoformat() if flag.due_date else None,
            "evidence": flag.evidence,
        }


@dataclass
class Built:
    members: list[tuple[str, bytes]]
    info: dict
    flag: dict
    history: list[AuditEvent]
    chain: Chain


def package_members(*, flag: Flag, built_by: str = "", render_pdf=None) -> Built:
    """Every member but the manifest, in the zip's order. `render_pdf(built) -> bytes` makes summary.pdf."""
    flag = Flag.objects.select_related("operator", "rule").get(pk=flag.pk)
    transfer_ids, truncated = evidence_transfer_ids(flag.evidence)
    filing_ids = evidence_filing_ids(flag.evidence)
    filing_ids.update(
        CrossBorderTransfer.objects.filter(id__in=transfer_ids).values_list("filing_id", flat=True).distinct()
    )
    filings, filing_files = [], []
    for filing in RegistrationFiling.objects.filter(pk__in=filing_ids, operator_id=flag.operator_id).order_by("pk"):
        entry, data = _filing_entry(filing)
        filings.append(entry)
        if data is not None:
            filing_files.append((entry["member"], data))
    history = list(flag_history(flag=flag))
    events, segment, chain = _chain(history)
    flag_data = _flag_json(flag)
    info = {
        "format": fmt.FORMAT,
        "flag": flag.pk,
        "operator": flag_data["operator"],
        "agency": flag.referred_to,
        "agency_label": flag_data["referred_to_label"],
        "referred_at": _iso(flag.decided_at),
        "built_at": timezone.now().isoformat(),
        "built_by": built_by,
        "filings": filings,
        "transfers": {"rows": len(transfer_ids), "truncated": truncated, "limit": MAX_TRANSFERS},
        "chain": {"from_event_id": chain.from_event_id, "head_event_id": chain.head_event_id},
    }
    members = [
        (fmt.PACKAGE_JSON, fmt.canonical_json(info)),
        (fmt.FLAG_JSON, fmt.canonical_json(flag_data)),
        (fmt.HISTORY, _csv(HISTORY_COLUMNS, _history_rows(history))),
        (fmt.TRANSFERS, _csv(TRANSFER_COLUMNS, _transfer_rows(transfer_ids))),
        *filing_files,
        (fmt.EVENTS, events),
        (fmt.SEGMENT, segment),
    ]
    built = Built(members=members, info=info, flag=flag_data, history=history, chain=chain)
    if render_pdf is not None:
        built.members.insert(1, (fmt.SUMMARY, render_pdf(built)))
    return built
