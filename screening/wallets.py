"""Counterparty wallets from accepted transfer registers that carry the optional
`counterparty_wallet` column (DESIGN section 3, docs/screening.md). The intake's COPY path does not
store them: screening reads each accepted file once (WalletScan remembers which) and keeps the
distinct (platform, address) pairs, a few per operator, not one per transfer."""

from pathlib import Path

from django.db import transaction

from operators.models import FilingKind, RegistrationFiling
from operators.tabular.reader import FileRejected, open_table
from screening.formats.base import wallet_key
from screening.models import RegisterWallet, WalletScan

COLUMN = "counterparty_wallet"
FILED = ("accepted", "superseded")


def _pairs(filing: RegistrationFiling) -> set[tuple[str, str]]:
    try:
        table = open_table(Path(filing.file.path))
    except (FileRejected, OSError, ValueError):
        return set()
    header = [h.strip() for h in table.header]
    if COLUMN not in header or "platform" not in header:
        return set()
    at_wallet, at_platform = header.index(COLUMN), header.index("platform")
    pairs = set()
    for _row, cells in table.rows:
        if len(cells) > max(at_wallet, at_platform):
            address = wallet_key(cells[at_wallet])
            if address:
                pairs.add((cells[at_platform].strip().lower(), address[:128]))
    return pairs


def wallets_collect() -> int:
    """Read the wallets of accepted transfer registers not read yet; returns how many files were read."""
    pending = (
        RegistrationFiling.objects.filter(kind=FilingKind.TRANSFER_REGISTER, status__in=FILED)
        .exclude(pk__in=WalletScan.objects.values("filing_id"))
        .only("id", "operator_id", "file")
    )
    read = 0
    for filing in pending.iterator():
        pairs = _pairs(filing)
        with transaction.atomic():
            RegisterWallet.objects.bulk_create(
                [
                    RegisterWallet(filing=filing, operator_id=filing.operator_id, platform_slug=p, address=a)
                    for p, a in sorted(pairs)
                ],
                ignore_conflicts=True,
            )
            WalletScan.objects.get_or_create(filing=filing, defaults={"wallets": len(pairs)})
        read += 1
    return read
