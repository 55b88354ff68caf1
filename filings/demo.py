"""Demo filings for generate_demo_data: realistic registers made through the real intake path.

For the operators and platforms already in the database: transfer registers
(investors with several outbound transfers to foreign platforms, partial and
late returns, about half of the value never coming back), client registers,
operator profiles; some filings late, some missing, some rejected first (and
not always resubmitted), a few with declared totals that do not match.
Every filing goes through filings.services.filing_submit, as an upload does.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from filings.services import filing_submit
from filings.validate import MINSK
from operators.calendar import filing_due_date, period_containing, reporting_start
from operators.models import Activity, FilingKind, ForeignPlatform, Operator, Periodicity

TRANSFER_HEADER = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
ASSETS = [("USDT", Decimal("3.25")), ("BTC", Decimal("310000")), ("ETH", Decimal("11000")), ("TON", Decimal("17"))]
# How each asset's BYN price moved over the demo's span (start to end, linear): the unit-based
# variant of the non-return share then differs from the canonical one (issue 17, price effect).
PRICE_DRIFT = {"USDT": Decimal("0"), "BTC": Decimal("0.6"), "ETH": Decimal("-0.3"), "TON": Decimal("-0.5")}
# Kinds of investor by what comes back: nothing, part, nearly all, more than sent (profit).
RETURN_PROFILES = [(0.30, (0.0, 0.0)), (0.30, (0.3, 0.8)), (0.30, (0.85, 1.0)), (0.10, (1.05, 1.6))]


def _month_starts(first: date, last: date) -> list[date]:
    out, d = [], first.replace(day=1)
    while d <= last:
        out.append(d)
        d = (d + timedelta(days=32)).replace(day=1)
    return out


def _upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"))


def _submit(operator, kind, start, end, text, *, rng, late_share=0.12, **declared):
    result = filing_submit(
        operator=operator,
        kind=kind,
        period_start=start,
        period_end=end,
        uploaded_file=_upload(f"{operator.unp}_{kind}_{start:%Y-%m}.csv", text),
        user=None,
        process_now=True,
        **declared,
    )
    filing = result.filing
    if filing is None:
        return result
    # Back-date the submission: on time for most, some days late for a few.
    due = filing.due_date or end
    if rng.random() < late_share:
        day = due + timedelta(days=rng.randint(1, 25))
    else:
        day = due - timedelta(days=rng.randint(0, 12))
    submitted = datetime.combine(day, datetime.min.time(), tzinfo=MINSK) + timedelta(hours=rng.randint(9, 18))
    when = min(submitted, timezone.now())
    # Processing is immediate here; the rules read when it was rejected (processed_at).
    type(filing).objects.filter(pk=filing.pk).update(submitted_at=when, processed_at=when)
    return result


def generate_demo_filings(*, seed: int, transfers: int, stdout) -> None:
    """Make demo filings for every operator in the database (about ``transfers`` transfer rows in all).

    One transaction: hundreds of filings each commit several times, and on
    SQLite every commit is an fsync (13 ms each, measured).
    """
    with transaction.atomic():
        _generate(seed=seed, transfers=transfers, stdout=stdout)


def _generate(*, seed: int, transfers: int, stdout) -> None:
    rng = random.Random(seed)
    today = timezone.localdate()
    operators = list(Operator.objects.order_by("unp"))
    platforms = list(ForeignPlatform.objects.order_by("slug"))
    if not operators or not platforms:
        stdout.write("demo filings: no operators or platforms, nothing to do\n")
        return
    first = reporting_start()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    months = _month_starts(first, last_month_end)
    # Every active operator owes transfer registers; exchanges and platforms carry most of the flow.
    traders = [o for o in operators if o.status == "active"] or operators
    heavy = [o for o in traders if o.activity in (Activity.EXCHANGE, Activity.TRADING_PLATFORM, Activity.CUSTODIAN)]
    weights = [max(1, rng.paretovariate(1.2)) for _ in platforms]

    # --- Investors and their transfers ----------------------------------------------------------
    rows_by_filing: dict[tuple[int, date], list[str]] = defaultdict(list)
    investors: dict[int, dict[str, date]] = defaultdict(dict)  # operator id -> investor_ref -> first transfer
    span_start = datetime.combine(months[0], datetime.min.time(), tzinfo=MINSK)
    span_end = datetime.combine(last_month_end + timedelta(days=1), datetime.min.time(), tzinfo=MINSK)
    span = (span_end - span_start).total_seconds()
    made, serial = 0, 0
    while made < transfers:
        investor = f"inv{rng.getrandbits(40):010x}"
        home = rng.choice(heavy) if heavy and rng.random() < 0.7 else rng.choice(traders)
        second = rng.choice(traders) if rng.random() < 0.15 else home
        share, (lo, hi) = 0.0, (0.0, 0.0)
        r = rng.random()
        for p, bounds in RETURN_PROFILES:
            share += p
            if r <= share:
                lo, hi = bounds
                break
        platform = rng.choices(platforms, weights)[0]
        for _ in range(rng.randint(1, 5)):
            operator = home if rng.random() < 0.8 else second
            asset, rate = rng.choice(ASSETS)
            when = span_start + timedelta(seconds=rng.random() * span * 0.95)
            value = Decimal(rng.lognormvariate(7.2, 1.0)).quantize(Decimal("0.01"))
            legs = [("OUT", when, value)]
            back = value * Decimal(str(round(rng.uniform(lo, hi), 3)))
            if back > 0:
                # Returns come late and in parts: one to three payments, 10 days to 14 months later.
                parts = rng.randint(1, 3)
                for i in range(parts):
                    later = when + timedelta(days=rng.randint(10, 420) * (i + 1) / parts)
                    piece = (back / parts).quantize(Decimal("0.01"))
                    if later < span_end and piece > 0:
                        legs.append(("IN", later, piece))
            for direction, at, val in legs:
                serial += 1
                local = at.astimezone(MINSK)
                month = local.date().replace(day=1)
                progress = Decimal((at - span_start).total_seconds() / span).quantize(Decimal("0.0001"))
                price = rate * (1 + PRICE_DRIFT[asset] * progress)
                amount = (val / price).quantize(Decimal("0.00000001"))
                if amount <= 0:
                    continue
                slug = platform.slug
                if rng.random() < 0.002:
                    slug = "p2p-" + rng.choice(["cryptomus", "bitpapa", "totalcoin"])  # unknown platforms
                rows_by_filing[(operator.pk, month)].append(
                    f"TX{serial:08d},{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}Z,{direction},{investor},{slug},"
                    f"{platform.country},{asset},{amount},{val}\n"
                )
                investors[operator.pk].setdefault(investor, local.date())
                made += 1

    by_pk = {o.pk: o for o in operators}
    counts: dict[str, int] = defaultdict(int)

    # --- Transfer registers -------------------------------------------------------------------------
    for (operator_pk, month), rows in sorted(rows_by_filing.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        operator = by_pk[operator_pk]
        end = period_containing(periodicity=Periodicity.MONTHLY, day=month)[1]
        if filing_due_date(kind=FilingKind.TRANSFER_REGISTER, period_end=end) > today and rng.random() < 0.5:
            continue  # not yet due: half the operators have not filed yet
        if rng.random() < 0.04:
            counts["missing"] += 1
            continue
        text = TRANSFER_HEADER + "".join(rows)
        out = sum(Decimal(r.rsplit(",", 1)[1]) for r in rows if ",OUT," in r)
        inn = sum(Decimal(r.rsplit(",", 1)[1]) for r in rows if ",IN," in r)
        declared = {"declared_rows": len(rows), "declared_out_byn": out, "declared_in_byn": inn}
        if rng.random() < 0.05:
            declared["declared_out_byn"] = (out * Decimal("0.9")).quantize(Decimal("0.01"))  # mismatch
        if rng.random() < 0.06:
            # First attempt broken (a date without its offset); most operators then file again.
            broken = text.replace("Z,", ",", 1)
            _submit(operator, FilingKind.TRANSFER_REGISTER, month, end, broken, rng=rng, late_share=0.0, **declared)
            counts["rejected"] += 1
            if rng.random() < 0.3:
                continue
        result = _submit(operator, FilingKind.TRANSFER_REGISTER, month, end, text, rng=rng, **declared)
        counts[result.status] += 1

    # --- Client registers (quarterly) ------------------------------------------------------------------
    for operator in traders:
        known = investors.get(operator.pk, {})
        quarter = period_containing(periodicity=Periodicity.QUARTERLY, day=first)
        while True:
            start, end = quarter
            if filing_due_date(kind=FilingKind.CLIENT_REGISTER, period_end=end) > today:
                break
            if rng.random() >= 0.05:
                lines = ["investor_ref,residency_country,registered_at,kyc_level\n"]
                for ref, first_seen in sorted(known.items()):
                    if first_seen > end or rng.random() < 0.03:  # a few clients never registered
                        continue
                    registered = first_seen - timedelta(days=rng.randint(0, 60))
                    lines.append(
                        f"{ref},{rng.choice(['BY'] * 9 + ['RU'])},{registered},"
                        f"{rng.choice(['simplified', 'standard', 'standard', 'enhanced'])}\n"
                    )
                if len(lines) > 1:
                    result = _submit(operator, FilingKind.CLIENT_REGISTER, start, end, "".join(lines), rng=rng)
                    counts[f"client_{result.status}"] += 1
            quarter = period_containing(periodicity=Periodicity.QUARTERLY, day=end + timedelta(days=1))

    # --- Operator profiles (yearly) ------------------------------------------------------------------------
    header = "unp,name,htp_certificate_no,htp_certificate_valid_until,activity,legal_address,aml_officer,website\n"
    for year in range(first.year, today.year):
        end = date(year, 12, 31)
        if filing_due_date(kind=FilingKind.OPERATOR_PROFILE, period_end=end) > today:
            continue
        for operator in operators:
            if rng.random() < 0.05:
                continue
            certificate = operator.htp_certificate_no
            if rng.random() < 0.05:
                certificate += "-A"  # disagrees with the registry (PROFILE_MISMATCH)
            name = operator.name.replace('"', '""')
            row = (
                f'{operator.unp},"{name}",{certificate},{operator.htp_certificate_valid_until},'
                f'{operator.activity},"г. Минск, ул. Примерная, {rng.randint(1, 99)}",Иванова А. С.,\n'
            )
            result = _submit(operator, FilingKind.OPERATOR_PROFILE, date(year, 1, 1), end, header + row, rng=rng)
            counts[f"profile_{result.status}"] += 1

    stdout.write(
        "demo filings: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"; {made} transfer rows generated\n"
    )
