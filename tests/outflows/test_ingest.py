"""The transfer-register bulk path (outflows/ingest.py): COPY, platform creation mid-stream, stage fallback."""

from decimal import Decimal

import pytest

from operators.models import FilingStatus, ForeignPlatform
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory, PlatformFactory
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = pytest.mark.django_db


def _register(n: int, *, bad_at: int | None = None, dup_at: int | None = None) -> bytes:
    lines = [TRANSFER_HEADER]
    for i in range(n):
        ext = "T0" if dup_at is not None and i == dup_at else f"T{i}"
        when = "2025-03-05T10:00:00" if i == bad_at else f"2025-03-{1 + i % 28:02d}T10:{i % 60:02d}:00Z"
        platform = ["binance", "Bybit", f"newplat{i // 10000}"][i % 3]
        lines.append(f"{ext},{when},{'OUT' if i % 2 else 'IN'},inv{i % 97},{platform},AE,USDT,{i + 1}.000001,{i}.10\n")
    return "".join(lines).encode()


def test_large_register_loads_through_copy_with_new_platforms_mid_stream():
    PlatformFactory(slug="binance")
    n = 45_000  # more than two COPY chunks; a new platform appears at rows 0, 10000, ... (COPY paused and resumed)
    result = submit(OperatorFactory(), _register(n))
    assert result.status == FilingStatus.ACCEPTED, result.errors[:5]
    assert CrossBorderTransfer.objects.count() == n
    assert set(ForeignPlatform.objects.filter(verified=False).values_list("slug", flat=True)) == {
        "bybit",
        "newplat0",
        "newplat1",
        "newplat2",
        "newplat3",
        "newplat4",
    }
    t = CrossBorderTransfer.objects.get(external_id="T7")
    assert t.amount == Decimal("8.000001")
    assert t.value_byn == Decimal("7.10")
    assert t.direction == "OUT"
    assert t.platform.slug == "bybit"


def test_a_bad_row_at_the_end_rejects_everything_and_lists_all_errors():
    n = 25_000
    content = _register(n, bad_at=n - 1, dup_at=n - 2)
    result = submit(OperatorFactory(), content)
    assert result.status == FilingStatus.REJECTED
    assert sorted((e.row, e.code) for e in result.errors) == [
        (n, "duplicate_external_id"),  # data row n-2 is spreadsheet row n
        (n + 1, "datetime_no_offset"),
    ]
    assert CrossBorderTransfer.objects.count() == 0
    assert not ForeignPlatform.objects.filter(slug="newplat0").exists()  # created platforms rolled back too


def test_backslashes_and_unicode_in_identifiers_survive_copy():
    content = TRANSFER_HEADER + 'A\\1,2025-03-05T10:00:00Z,OUT,инв\\"x",binance,AE,USDT,1,1\n'
    result = submit(OperatorFactory(), content.encode())
    assert result.status == FilingStatus.ACCEPTED, result.errors
    t = CrossBorderTransfer.objects.get()
    assert t.external_id == "A\\1"
    assert t.investor_ref == 'инв\\"x"'


def test_occurred_at_offsets_are_kept_as_instants():
    content = TRANSFER_HEADER + (
        "A,2025-03-05T10:00:00+03:00,OUT,i,binance,AE,USDT,1,1\nB,2025-03-05T07:00:00Z,IN,i,binance,AE,USDT,1,1\n"
    )
    submit(OperatorFactory(), content.encode())
    a, b = CrossBorderTransfer.objects.order_by("external_id")
    assert a.occurred_at == b.occurred_at
