"""Test data for the outflow analytics: operators, platforms and transfers made in bulk."""

import datetime as dt
import itertools
import json
import random
from decimal import Decimal

from stdnum.by import unp as stdnum_unp
from stdnum.exceptions import ValidationError as StdnumError

from operators.models import FilingKind, ForeignPlatform, Operator, RegistrationFiling
from outflows.models import CrossBorderTransfer

BASE = dt.datetime(2024, 1, 10, 12, 0, tzinfo=dt.UTC)  # day 0 of the worked examples
UNP_A = "191234563"  # the sample UNP; A sorts before B
PLATFORMS = {"alpha": "CY", "beta": "SC", "gamma": "CY"}


def valid_unps(count: int, start: int = 100) -> list[str]:
    """count valid UNPs: 8-digit bodies whose check digit would be 10 are skipped."""
    found = []
    for n in itertools.count(start):
        body = f"19{n:06d}"
        try:
            found.append(body + stdnum_unp.calc_check_digit(body))
        except StdnumError:
            continue
        if len(found) == count:
            return found
    return found


UNP_B = valid_unps(1, start=500_000)[0]


def operator(unp: str) -> Operator:
    op, _ = Operator.objects.get_or_create(
        unp=unp,
        defaults={
            "name": f"Operator {unp}",
            "htp_certificate_no": f"HTP-{unp}",
            "htp_certificate_valid_until": dt.date(2030, 1, 1),
            "activity": "exchange",
        },
    )
    return op


def platform(slug: str) -> ForeignPlatform:
    return ForeignPlatform.objects.get_or_create(
        slug=slug, defaults={"name": slug.title(), "country": PLATFORMS[slug]}
    )[0]


def filing(op: Operator) -> RegistrationFiling:
    found = RegistrationFiling.objects.filter(operator=op).first()
    return found or RegistrationFiling.objects.create(
        operator=op,
        kind=FilingKind.TRANSFER_REGISTER,
        period_start=dt.date(2024, 1, 1),
        period_end=dt.date(2026, 12, 31),
        sha256="0" * 64,
        original_name="transfers.csv",
    )


_external_ids = itertools.count(1)


def transfer(direction: str, value: str, *, day: float = 0, at: dt.datetime | None = None, investor: str = "inv-1",
             platform_slug: str = "alpha", unp: str = UNP_A, external_id: str | None = None) -> dict:  # fmt: skip
    """One transfer as a dict (for add_transfers): at `at`, or `day` days after BASE."""
    return {
        "direction": direction,
        "value": value,
        "at": (at or BASE + dt.timedelta(days=day)).isoformat(),
        "investor": investor,
        "platform": platform_slug,
        "unp": unp,
        "external_id": external_id or f"x-{next(_external_ids)}",
    }


def add_transfers(*rows: dict) -> list[CrossBorderTransfer]:
    """Store transfers in one bulk_create, creating their operators, platforms and filings."""
    operators = {unp: operator(unp) for unp in {row["unp"] for row in rows}}
    filings = {unp: filing(op) for unp, op in operators.items()}
    platforms = {slug: platform(slug) for slug in {row["platform"] for row in rows}}
    objs = [
        CrossBorderTransfer(
            operator=operators[row["unp"]],
            filing=filings[row["unp"]],
            external_id=row["external_id"],
            occurred_at=dt.datetime.fromisoformat(row["at"]),
            direction=row["direction"],
            investor_ref=row["investor"],
            platform=platforms[row["platform"]],
            asset="USDT",
            amount=Decimal(row["value"]),
            value_byn=Decimal(row["value"]),
        )
        for row in rows
    ]
    return CrossBorderTransfer.objects.bulk_create(objs, batch_size=2_000)


def random_transfers(count: int, *, seed: int = 7) -> list[dict]:
    """A seeded random set with ties, window edges, several investors, platforms and operators."""
    rng = random.Random(seed)
    unps = [UNP_A, UNP_B, *valid_unps(2, start=900)]
    rows = []
    for i in range(count):
        day = rng.choice([0, 1, 30, 31, 90, 180, 364, 365, 366, rng.uniform(0, 700)])
        seconds = rng.choice([0, 0, 1, -1, 3600 * 22])
        rows.append(
            transfer(
                rng.choice(["OUT", "OUT", "IN"]),
                f"{rng.choice([1, 100, rng.randint(1, 10**7)])}.{rng.randint(0, 99):02d}",
                at=BASE + dt.timedelta(days=day, seconds=seconds),
                investor=f"inv-{rng.randint(1, max(2, count // 6))}",
                platform_slug=rng.choice(sorted(PLATFORMS)),
                unp=rng.choice(unps),
                external_id=f"r-{i}",
            )
        )
    return rows


def load_json(path: str) -> None:
    """Entry point for a separate process (the SQLite check): add the transfers stored in a JSON file."""
    with open(path) as fh:
        add_transfers(*json.load(fh))
