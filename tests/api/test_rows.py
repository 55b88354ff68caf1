"""The row serializers (transfers, outflow stats) give exactly what DRF's own fields give."""

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework import serializers as drf

from api.serializers import OutflowStatSerializer, TransferSerializer
from api.views import transfers_for_api
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat, RunStatus
from tests.api.conftest import make_filing
from tests.factories import OperatorFactory, PlatformFactory

pytestmark = pytest.mark.django_db


def drf_way(serializer: drf.ModelSerializer, row: dict) -> dict:
    """DRF's own Serializer.to_representation: every field's get_attribute and to_representation."""
    return drf.ModelSerializer.to_representation(serializer, row)


def test_transfer_rows_serialize_as_drf_fields_do():
    operator, platform = OperatorFactory(), PlatformFactory()
    filing = make_filing(operator)
    edge_values = [
        (datetime(2025, 1, 1, 0, 0, tzinfo=UTC), Decimal("0.000000000000000001"), Decimal("0.01")),
        (datetime(2025, 6, 30, 21, 0, 0, 123456, tzinfo=UTC), Decimal("12345678901234567890.5"), Decimal("1e15")),
        (datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC), Decimal(7), Decimal("99.9")),
    ]
    CrossBorderTransfer.objects.bulk_create(
        CrossBorderTransfer(
            operator=operator,
            filing=filing,
            platform=platform,
            external_id=f"TX-{i}",
            occurred_at=at,
            direction="OUT" if i % 2 else "IN",
            investor_ref=f"инвестор-{i}",
            asset="USDT",
            amount=amount,
            value_byn=value,
        )
        for i, (at, amount, value) in enumerate(edge_values)
    )
    rows = list(transfers_for_api().order_by("id"))
    serializer = TransferSerializer()
    page = TransferSerializer(rows, many=True).data
    assert len(page) == len(edge_values)
    for row, shown in zip(rows, page, strict=True):
        assert shown == drf_way(serializer, row)
        assert serializer.to_representation(row) == shown
    assert page[0]["occurred_at"] == "2025-01-01T03:00:00+03:00"  # Minsk time, as the rest of the API
    assert page[0]["amount"] == "0.000000000000000001"
    assert page[1]["value_byn"] == "1000000000000000.00"


def test_stat_rows_serialize_as_drf_fields_do():
    run = OutflowRun.objects.create(as_of=datetime(2025, 12, 31, tzinfo=UTC), window_days=90, status=RunStatus.FINISHED)
    common = {
        "run": run,
        "dimension": "operator",
        "outbound_value_byn": Decimal("100.00"),
        "returned_value_byn": Decimal("40.00"),
        "unreturned_value_byn": Decimal("60.00"),
        "pending_outbound_value_byn": Decimal(0),
        "pending_returned_value_byn": Decimal(0),
        "outbound_count": 3,
    }
    OutflowStat.objects.create(key="a", cohort="2025-01", non_return_share=Decimal("0.600000"), **common)
    OutflowStat.objects.create(key="b", cohort="all", non_return_share=None, **common)
    rows = list(OutflowStat.objects.values(*OutflowStatSerializer.columns()).order_by("id"))
    serializer = OutflowStatSerializer()
    page = OutflowStatSerializer(rows, many=True).data
    for row, shown in zip(rows, page, strict=True):
        assert shown == drf_way(serializer, row)
    assert page[0]["run"] == run.pk
    assert page[0]["non_return_share"] == Decimal("0.600000")
    assert page[1]["non_return_share"] is None
    assert page[0]["unreturned_value_byn"] == "60.00"


def test_row_serializers_read_only_selected_columns():
    # A field added to the serializer without its column in the queryset fails here, not in production.
    row = transfers_for_api().query.values_select + tuple(transfers_for_api().query.annotation_select)
    assert set(TransferSerializer.columns()) <= set(row)


def _shown(convert, value) -> tuple:
    try:
        result = convert(value)
    except Exception as exc:  # noqa: BLE001 - the very exception is what is compared
        return ("raises", type(exc))
    return ("gives", type(result), str(result))


DECIMAL_EDGES = [
    "0",
    "-0",
    "0.00",
    "-0.00",
    "0.01",
    "-0.01",
    "1000.00",
    "1000.0",
    "1000.000",
    "1000.005",
    "1000.015",
    "1E+2",
    "1.5E-7",
    "1.50E-5",
    "0E-10",
    "0.000001",
    "1.000000",
    "-0.000000",
    "0.1234565",
    "NaN",
    "-NaN",
    "Infinity",
    "-Infinity",
    "12345678901234567890.12",
    "1234567890123456789.12",
    "-123456789012345678.12",
    "99999999999999999999.99",
    "0.000000000000000001",
    "12345678901234567890.123456789012345678",
]


@pytest.mark.parametrize("serializer_class", [TransferSerializer, OutflowStatSerializer])
def test_decimal_columns_show_exactly_what_drf_shows(serializer_class):
    # The row converters write a value that has exactly the field's decimals with str() and send
    # anything else through quantize: compared with DRF's own field on edge and random values.
    rng = random.Random(20251129)
    fields = [f for f in serializer_class()._readable_fields if isinstance(f, drf.DecimalField)]
    plans = {name: convert for name, _, convert in serializer_class().row_plan()}
    assert fields
    for field in fields:
        places = field.decimal_places
        values = [Decimal(text) for text in DECIMAL_EDGES]
        for _ in range(3000):
            digits = tuple(rng.randrange(10) for _ in range(rng.randint(1, field.max_digits + 3)))
            values.append(Decimal((rng.randrange(2), digits, -places)))  # the column's own scale
            values.append(Decimal((rng.randrange(2), digits, rng.randint(-places - 4, 3))))
        for value in values:
            assert _shown(plans[field.field_name], value) == _shown(field.to_representation, value), (field, value)
