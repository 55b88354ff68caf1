"""Rules over the transfers: CERTIFICATE_EXPIRED, UNREGISTERED_CLIENT, UNKNOWN_PLATFORM,
HIGH_RISK_JURISDICTION.

They fold the groups of the shared passes over the transfers (ScanContext.transfers,
rules/summary.py); Python only shapes a few thousand groups into candidates.
"""

from collections import defaultdict

from audits.rules import rows as row_selectors
from audits.rules.base import Candidate, ScanContext, fold, iso, money
from audits.rules.rows import with_rows
from operators.models import OperatorStatus


def _evidence(row: dict) -> dict:
    return {
        "transfer_count": row["n"],
        "value_byn": money(row["value"]),
        "out_value_byn": money(row["out"]),
        "in_value_byn": money(row["inn"]),
        "first_occurred_at": iso(row["first"]),
        "last_occurred_at": iso(row["last"]),
    }


def _material(row: dict) -> dict:
    return {"transfer_count": row["n"], "value_byn": float(row["value"] or 0)}


def certificate_expired(*, rule, ctx: ScanContext) -> list[Candidate]:
    """The HTP certificate has expired while the operator is active, or transfers occurred after
    expiry (their date in Minsk later than the certificate's last valid day)."""
    result = []
    for op in ctx.operators.values():
        if op.status == OperatorStatus.ACTIVE and op.htp_certificate_valid_until < ctx.today:
            result.append(
                Candidate(
                    operator_id=op.id,
                    unp=op.unp,
                    key=f"active|{op.htp_certificate_valid_until}",
                    subject=f"certificate expired {op.htp_certificate_valid_until}, operator active",
                    evidence={
                        "htp_certificate_valid_until": iso(op.htp_certificate_valid_until),
                        "days_since_expiry": (ctx.today - op.htp_certificate_valid_until).days,
                        "operator_status": op.status,
                    },
                    material={"htp_certificate_valid_until": iso(op.htp_certificate_valid_until)},
                )
            )
    after = fold(ctx.transfers.groups, lambda g: g["operator_id"] if g["after_expiry"] else None)
    for operator_id, row in sorted(after.items()):
        op = ctx.operators[operator_id]
        valid_until = op.htp_certificate_valid_until
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key=f"transfers|{valid_until}",
                subject=f"transfers after certificate expiry {valid_until}",
                evidence=with_rows(
                    row_selectors.certificate_expired,
                    {"htp_certificate_valid_until": iso(valid_until), **_evidence(row)},
                    op.unp,
                ),
                material=_material(row),
            )
        )
    return result


def unregistered_client(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Transfers by an investor_ref absent from the operator's client register at that date.

    Two cases, one flag each (evidence "case"): dates an accepted client register covers (its
    period_end >= the date) and the investor is not in it ("not_in_register"); and dates whose client
    register is due and missing ("register_missing": every investor is unregistered then). The register
    of the current quarter is not due yet, so its dates count in neither.
    """
    rows = fold(ctx.transfers.unregistered, lambda g: g["operator_id"])
    result = _register_missing(ctx)
    for operator_id, row in sorted(rows.items()):
        op = ctx.operators[operator_id]
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key="transfers",
                subject="transfers by investors missing from the client register",
                evidence=with_rows(
                    row_selectors.unregistered_client,
                    {"case": "not_in_register", **_evidence(row), "example_investor_ref": row["example_investor"]},
                    op.unp,
                ),
                material=_material(row),
            )
        )
    return result


def _register_missing(ctx: ScanContext) -> list[Candidate]:
    """UNREGISTERED_CLIENT's second case: transfers on dates whose client register is due and missing."""
    rows = fold(ctx.transfers.register_missing, lambda g: g["operator_id"])
    result = []
    for operator_id, row in sorted(rows.items()):
        op = ctx.operators[operator_id]
        periods = ctx.transfers.missing_registers.get(operator_id, [])
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key="register_missing",
                subject="transfers on dates whose client register is due and missing",
                evidence=with_rows(
                    row_selectors.unregistered_client,
                    {
                        "case": "register_missing",
                        "missing_registers": [
                            {"period_start": iso(p.period_start), "period_end": iso(p.period_end)} for p in periods
                        ],
                        "missing_until": iso(periods[-1].period_end) if periods else None,
                        **_evidence(row),
                    },
                    op.unp,
                ),
                material=_material(row),
            )
        )
    return result


def unknown_platform(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Transfers to a platform not verified by the SCC; one flag per operator and platform."""
    platforms = ctx.transfers.platforms
    rows = fold(
        ctx.transfers.groups,
        lambda g: (
            (g["operator_id"], g["platform_id"])
            if g["platform_id"] is not None and not platforms[g["platform_id"]]["verified"]
            else None
        ),
    )
    result = []
    for (operator_id, platform_id), row in sorted(rows.items()):
        op, platform = ctx.operators[operator_id], platforms[platform_id]
        result.append(
            Candidate(
                operator_id=op.id,
                unp=op.unp,
                key=f"platform|{platform['slug']}",
                subject=f"unverified platform {platform['slug']} ({platform['country']})",
                evidence=with_rows(
                    row_selectors.unknown_platform,
                    {
                        "platform": platform["slug"],
                        "platform_id": platform_id,
                        "country": platform["country"],
                        **_evidence(row),
                    },
                    op.unp,
                ),
                material=_material(row),
            )
        )
    return result


def high_risk_jurisdiction(*, rule, ctx: ScanContext) -> list[Candidate]:
    """Transfers to platforms in a country on the high-risk list; one flag per operator and country."""
    platforms, lists = ctx.transfers.platforms, ctx.transfers.high_risk
    rows = fold(
        ctx.transfers.groups,
        lambda g: (
            (g["operator_id"], g["platform_id"])
            if g["platform_id"] is not None and platforms[g["platform_id"]]["country"] in lists
            else None
        ),
    )
    grouped: dict[tuple[int, str], list[tuple[int, dict]]] = defaultdict(list)
    for (operator_id, platform_id), row in rows.items():
        grouped[(operator_id, platforms[platform_id]["country"])].append((platform_id, row))
    result = []
    for (operator_id, country), parts in sorted(grouped.items()):
        op = ctx.operators[operator_id]
        total = fold([{**row, "example_investor": None} for _pid, row in parts], lambda g: "all")["all"]
        result.append(
            Candidate(
                operator_id=operator_id,
                unp=op.unp,
                key=f"country|{country}",
                subject=f"transfers to {country} ({lists[country]})",
                evidence={
                    "country": country,
                    "list": lists[country],
                    **_evidence(total),
                    "platforms": [
                        {
                            "platform": platforms[pid]["slug"],
                            "transfer_count": row["n"],
                            "value_byn": money(row["value"]),
                            "rows": row_selectors.platform_rows(op.unp, platforms[pid]["slug"]),
                        }
                        for pid, row in sorted(parts, key=lambda p: platforms[p[0]]["slug"])
                    ],
                    "rows": row_selectors.high_risk_jurisdiction({"country": country}, op.unp),
                },
                material=_material(total),
            )
        )
    return result
