"""ORM-level builders for the audits tests: filings, transfers and runs are written directly,
so these tests do not depend on the intake or outflow services."""

from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import count

from django.contrib.auth.models import Group, User
from django.db.models import Max

from audits.models import Rule, RuleVersion
from audits.services.versions import rules_mirror, versions_seed
from operators.calendar import DEFAULTS, FilingCalendarRules, period_containing, periods_owed
from operators.models import (
    ClientRecord,
    FilingKind,
    FilingStatus,
    ForeignPlatform,
    Operator,
    OperatorMembership,
    RegistrationFiling,
)
from outflows.models import CrossBorderTransfer

_seq = count(1)
# "Now" of most tests: 2025-06-20 12:00 Minsk.
NOW = datetime(2025, 6, 20, 9, 0, tzinfo=UTC)


def operator(*, unp: str | None = None, **kw) -> Operator:
    n = next(_seq)
    defaults = {
        "unp": unp or f"19{n:07d}",
        "name": f"Оператор {n}",
        "htp_certificate_no": f"HTP-{n}",
        "htp_certificate_valid_until": date(2030, 1, 1),
        "htp_registered_on": date(2025, 1, 1),
        "activity": "exchange",
        "status": "active",
    }
    defaults.update(kw)
    return Operator.objects.create(**defaults)


def platform(slug: str = "binance", *, country: str = "AE", verified: bool = True, **kw) -> ForeignPlatform:
    return ForeignPlatform.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "country": country, "verified": verified, **kw}
    )[0]


def filing(
    op: Operator,
    *,
    kind: str = FilingKind.TRANSFER_REGISTER,
    start: date = date(2025, 1, 1),
    end: date | None = None,
    status: str = FilingStatus.ACCEPTED,
    submitted: datetime | None = None,
    due: date | None = None,
    **kw,
) -> RegistrationFiling:
    end = end or period_containing(periodicity=DEFAULTS[kind].periodicity, day=start)[1]
    f = RegistrationFiling.objects.create(
        operator=op,
        kind=kind,
        period_start=start,
        period_end=end,
        status=status,
        due_date=due,
        file="filings/x",
        sha256=f"{next(_seq):064d}",
        **kw,
    )
    submitted = submitted or datetime(end.year, end.month, end.day, 12, 0, tzinfo=UTC)
    RegistrationFiling.objects.filter(pk=f.pk).update(submitted_at=submitted, processed_at=submitted)
    f.refresh_from_db()
    return f


def file_everything(op: Operator, *, until: date = date(2025, 6, 20)) -> None:
    """Accepted filings, on time, for every period the operator owes until `until` (default calendar)."""
    for p in periods_owed(operator=op, today=until, rules=FilingCalendarRules(by_kind=DEFAULTS)):
        filing(
            op,
            kind=p.kind,
            start=p.period_start,
            end=p.period_end,
            submitted=datetime(p.period_end.year, p.period_end.month, p.period_end.day, 12, tzinfo=UTC),
        )


def transfers(op: Operator, f: RegistrationFiling, plat: ForeignPlatform, rows: list[tuple]) -> list:
    """rows: (occurred_at, direction, investor_ref, value_byn)."""
    objs = [
        CrossBorderTransfer(
            operator=op,
            filing=f,
            external_id=f"T{next(_seq)}",
            occurred_at=at,
            direction=direction,
            investor_ref=inv,
            platform=plat,
            asset="USDT",
            amount=Decimal(1),
            value_byn=Decimal(str(value)),
        )
        for at, direction, inv, value in rows
    ]
    return CrossBorderTransfer.objects.bulk_create(objs)


def client(op: Operator, f: RegistrationFiling, investor_ref: str, registered_at: date) -> ClientRecord:
    return ClientRecord.objects.create(
        operator=op,
        filing=f,
        investor_ref=investor_ref,
        residency_country="BY",
        registered_at=registered_at,
        kyc_level="standard",
    )


def user(username: str, *, group: str | None = None, operator: Operator | None = None) -> User:
    u = User.objects.create_user(username, f"{username}@example.by", "correct-horse-battery")
    if group:
        u.groups.add(Group.objects.get(name=group))
    if operator:
        OperatorMembership.objects.create(user=u, operator=operator)
    return u


def seed_catalogue() -> None:
    """Transactional tests flush the tables a migration seeded: put the rules and countries back."""
    import importlib

    from django.apps import apps

    class MigrationApps:  # today's models under the names that migration knew (the chain head is auditlog's now)
        @staticmethod
        def get_model(app_label: str, name: str):
            return apps.get_model("auditlog" if name == "AuditChainHead" else app_label, name)

    importlib.import_module("audits.migrations.0002_seed_rules_and_high_risk_countries").seed(MigrationApps, None)


def rule_setting(code: str, *, parameters: dict | None = None, enabled: bool | None = None):
    """Set a rule for a test as a supervisor's published version would (in force since always, so scans
    at the tests' dates use it): parameters and switch change only through versions."""
    versions_seed()
    rule = Rule.objects.get(code=code)
    live = rule.versions.order_by("-number").first()
    version = RuleVersion.objects.create(
        rule=rule,
        number=rule.versions.aggregate(n=Max("number"))["n"] + 1,
        parameters=live.parameters if parameters is None else parameters,
        enabled=live.enabled if enabled is None else enabled,
        status="published",
    )
    rules_mirror(versions={rule.pk: version})
    return version
