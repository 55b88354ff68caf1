"""What an operator's referral package holds (issue 18 item 5, "referring a flag (or an operator)").

The same format as a flag's package (casework.referrals.package: manifest, package SHA-256, the offline
check `manage.py verify_referral`), with the operator's confirmed and referred flags instead of one flag:

    package.json                     kind "operator": the operator, agency, reason, the flags, the filings
    summary.pdf                      the summary in Russian, listing the flags
    operator.json                    the operator as registered
    flags/<id>.json                  each flag as stored (as a flag package's flag.json)
    flags/<id>-history.csv           each flag's history
    transfers.csv                    the evidence transfers of all the flags (at most MAX_TRANSFERS)
    filings/<id>-<name>              each filing the flags rest on, byte for byte
    audit_log/events.jsonl           the flags' events and the referral's own event, full hashed content
    audit_log/chain_segment.jsonl    the hash-chain segment from the first of them to the chain head
"""

from django.utils import timezone, translation

from auditlog.models import AuditEvent
from audits.models import Agency, Flag, FlagStatus
from audits.selectors import flag_history
from operators.models import Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer

from . import package as fmt
from .build import (
    HISTORY_COLUMNS,
    MAX_TRANSFERS,
    TRANSFER_COLUMNS,
    Built,
    _chain,
    _csv,
    _filing_entry,
    _flag_json,
    _history_rows,
    _iso,
    _transfer_rows,
    evidence_filing_ids,
    evidence_transfer_ids,
)

OPERATOR_JSON = "operator.json"
# The flags an operator's referral carries.
REFERRED_STATUSES = (FlagStatus.CONFIRMED, FlagStatus.REFERRED)


def operator_flags(*, operator: Operator):
    return (
        Flag.objects.filter(operator=operator, status__in=REFERRED_STATUSES)
        .select_related("operator", "rule")
        .order_by("id")
    )


def _operator_json(operator: Operator) -> dict:
    with translation.override("ru"):
        return {
            "id": operator.pk,
            "unp": operator.unp,
            "name": operator.name,
            "activity": operator.activity,
            "activity_label": str(operator.get_activity_display()),
            "status": operator.status,
            "status_label": str(operator.get_status_display()),
            "htp_certificate_no": operator.htp_certificate_no,
            "htp_certificate_valid_until": operator.htp_certificate_valid_until.isoformat(),
            "legal_address": operator.legal_address,
            "aml_officer": operator.aml_officer,
        }


def _transfer_ids(flags: list[Flag]) -> tuple[list[int], bool]:
    ids: set[int] = set()
    truncated = False
    for flag in flags:
        found, more = evidence_transfer_ids(flag.evidence)
        ids.update(found)
        if more or len(ids) > MAX_TRANSFERS:
            truncated = True
            break
    return sorted(ids)[:MAX_TRANSFERS], truncated


def operator_package_members(
    *,
    operator: Operator,
    agency: str,
    reason: str,
    referred_at,
    refer_event: AuditEvent,
    built_by: str = "",
    render_pdf=None,
) -> Built:
    """Every member but the manifest, in the zip's order. `render_pdf(built) -> bytes` makes summary.pdf;
    `built.flag` is the operator's json with its flags under "flags"."""
    flags = list(operator_flags(operator=operator))
    transfer_ids, truncated = _transfer_ids(flags)
    filing_ids: set[int] = set()
    for flag in flags:
        filing_ids.update(evidence_filing_ids(flag.evidence))
    filing_ids.update(
        CrossBorderTransfer.objects.filter(id__in=transfer_ids).values_list("filing_id", flat=True).distinct()
    )
    filings, filing_files = [], []
    for filing in RegistrationFiling.objects.filter(pk__in=filing_ids, operator_id=operator.pk).order_by("pk"):
        entry, data = _filing_entry(filing)
        filings.append(entry)
        if data is not None:
            filing_files.append((entry["member"], data))
    histories = {flag.pk: list(flag_history(flag=flag)) for flag in flags}
    history = sorted([e for events in histories.values() for e in events] + [refer_event], key=lambda e: e.pk)
    events, segment, chain = _chain(history)
    flag_data = [_flag_json(flag) for flag in flags]
    operator_data = _operator_json(operator)
    with translation.override("ru"):
        agency_label = str(dict(Agency.choices).get(agency, agency))
    info = {
        "format": fmt.FORMAT,
        "kind": "operator",
        "operator": {"id": operator.pk, "unp": operator.unp, "name": operator.name},
        "agency": agency,
        "agency_label": agency_label,
        "reason": reason,
        "referred_at": _iso(referred_at),
        "built_at": timezone.now().isoformat(),
        "built_by": built_by,
        "flags": [f.pk for f in flags],
        "filings": filings,
        "transfers": {"rows": len(transfer_ids), "truncated": truncated, "limit": MAX_TRANSFERS},
        "chain": {"from_event_id": chain.from_event_id, "head_event_id": chain.head_event_id},
    }
    members = [
        (fmt.PACKAGE_JSON, fmt.canonical_json(info)),
        (OPERATOR_JSON, fmt.canonical_json(operator_data)),
    ]
    for data in flag_data:
        members.append((f"flags/{data['id']}.json", fmt.canonical_json(data)))
        members.append((f"flags/{data['id']}-history.csv", _csv(HISTORY_COLUMNS, _history_rows(histories[data["id"]]))))
    members += [
        (fmt.TRANSFERS, _csv(TRANSFER_COLUMNS, _transfer_rows(transfer_ids))),
        *filing_files,
        (fmt.EVENTS, events),
        (fmt.SEGMENT, segment),
    ]
    built = Built(members=members, info=info, flag={**operator_data, "flags": flag_data}, history=history, chain=chain)
    if render_pdf is not None:
        built.members.insert(1, (fmt.SUMMARY, render_pdf(built)))
    return built
