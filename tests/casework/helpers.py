"""A referred flag resting on a real filing (a stored file) and its transfers, for the casework tests."""

import hashlib
from datetime import UTC, datetime

from django.core.files.base import ContentFile

from auditlog.services import audit_event_record
from audits.models import Flag, Rule
from audits.services import flag_refer
from audits.services.state import flag_state
from operators.models import RegistrationFiling
from tests.audits import helpers as h

FILING_BYTES = b"external_id;occurred_at;direction\nT1;2025-06-01;OUT\n"
AT = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def flag_with_evidence(*, op=None, severity: str = "medium") -> Flag:
    """An open UNKNOWN_PLATFORM flag whose evidence selects two transfers of one stored filing."""
    op = op or h.operator()
    plat = h.platform("exmo-test", country="GB", verified=False)
    filing = h.filing(op)
    filing.file.save("stored", ContentFile(FILING_BYTES), save=False)
    RegistrationFiling.objects.filter(pk=filing.pk).update(
        file=filing.file.name,
        sha256=hashlib.sha256(FILING_BYTES).hexdigest(),
        original_name="реестр переводов.csv",
        size_bytes=len(FILING_BYTES),
    )
    # A hostile investor id: the CSV must not turn it into a formula.
    h.transfers(op, filing, plat, [(AT, "OUT", "inv-1", "100.50"), (AT, "OUT", "=HYPERLINK(1)", "5.00")])
    flag = Flag.objects.create(
        operator=op,
        # get_or_create: transactional tests (the browser's) flush the seeded catalogue.
        rule=Rule.objects.get_or_create(
            code="UNKNOWN_PLATFORM", defaults={"title": "Непроверенная платформа", "severity": "high"}
        )[0],
        fingerprint=hashlib.sha256(f"UNKNOWN_PLATFORM|{op.unp}|{plat.slug}".encode()).hexdigest(),
        subject=f"unknown platform {plat.slug}",
        severity=severity,
        evidence={
            "platform": plat.slug,
            "transfer_count": 2,
            "value_byn": "105.50",
            "rows": {
                "transfer_count": {"list": "transfers", "filters": {"operator": op.unp, "platform": plat.slug}},
                "value_byn": {"list": "transfers", "filters": {"operator": op.unp, "platform": plat.slug}},
            },
        },
        material={"transfer_count": 2},
    )
    audit_event_record(actor=None, action="flag.opened", obj=flag, after=flag_state(flag))
    return flag


def referred_flag(*, op=None, auditor=None, agency: str = "fmd") -> Flag:
    flag = flag_with_evidence(op=op)
    auditor = auditor or h.user(f"referrer{flag.pk}", group="auditors")
    return flag_refer(flag=flag, actor=auditor, agency=agency, reason="Признаки незаконного вывода средств")
