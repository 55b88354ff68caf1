"""Helpers for the filing-intake tests (shared factories are in tests/factories.py)."""

from datetime import date
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from filings.services import filing_submit

SAMPLES = Path(__file__).parent / "samples"
UNP = "191234563"
TRANSFER_HEADER = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"


def upload(content: bytes, name: str = "f.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def submit(
    operator,
    content: bytes,
    *,
    kind="transfer_register",
    start=date(2025, 3, 1),
    end=date(2025, 3, 31),
    name="f.csv",
    **kwargs,
):
    """Submit and process in this process (process_now), as the command line does."""
    kwargs.setdefault("process_now", not kwargs.get("dry_run", False))
    return filing_submit(
        operator=operator,
        kind=kind,
        period_start=start,
        period_end=end,
        uploaded_file=upload(content, name),
        user=None,
        **kwargs,
    )


def transfer_rows(n: int, *, start: int = 1, day: str = "2025-03-05", platform: str = "binance") -> bytes:
    lines = [TRANSFER_HEADER]
    for i in range(start, start + n):
        direction = "OUT" if i % 3 else "IN"
        lines.append(f"TX-{i:06d},{day}T10:00:00+03:00,{direction},inv{i % 7},{platform},AE,USDT,{i}.5,{i * 3}.25\n")
    return "".join(lines).encode()
