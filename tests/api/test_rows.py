"""The row lists (transfers, outflow stats) show exactly what DRF's own fields and renderer show.

api/rows.py selects each value in the form its JSON needs (decimals cast by PostgreSQL,
datetimes written by orjson); here every way of showing a row is compared, after rendering,
with DRF's ModelSerializer.to_representation and DRF's own JSONRenderer on the plain columns.
"""

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone
from rest_framework import serializers as drf
from rest_framework.renderers import JSONRenderer

from api.querysets import transfers_for_api, transfers_with_codes
from api.renderers import JSONRenderer as ApiJSONRenderer
from api.rows import row_dict, row_plan
from api.serializers import OutflowStatSerializer, TransferSerializer
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat, RunStatus
from tests.api.conftest import make_filing
from tests.factories import OperatorFactory, PlatformFactory


def shown_by_drf(serializer_class, queryset) -> list[dict]:
    """Each row as DRF's own fields show its plain columns, through DRF's own JSON renderer."""
    serializer = serializer_class()
    rows = queryset.values(*[f.source for f in serializer._readable_fields]).order_by("id")
    return json.loads(JSONRenderer().render([drf.ModelSerializer.to_representation(serializer, r) for r in rows]))


def shown_by_api(serializer_class, rows) -> list[dict]:
    """The rows as the API shows them: the row serializer, then the API's renderer."""
    return orjson.loads(ApiJSONRenderer().render(serializer_class(rows.order_by("id"), many=True).data))


AMOUNTS = [
    "0.000000000000000001",
    "12345678901234567890.5",
    "7",
    "-3.25",
    "0",
    "99999999999999999999.999999999999999999",
]
VALUES_BYN = ["0.01", "1e15", "99.9", "-0.50", "0", "9999999999999999.99"]
INSTANTS = [
    datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2025, 6, 30, 21, 0, 0, 123456, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 500000, tzinfo=UTC),  # .500000: PostgreSQL would print .5
    datetime(2005, 1, 15, 12, 0, tzinfo=UTC),  # Minsk in winter before 2011: +02:00
    datetime(2005, 7, 15, 12, 0, 0, 1, tzinfo=UTC),  # and in summer: +03:00
    datetime(1970, 1, 1, tzinfo=UTC),
]


@pytest.mark.django_db
def test_transfer_rows_show_what_drf_shows():
    operator, platform = OperatorFactory(), PlatformFactory()
    filing = make_filing(operator)
    CrossBorderTransfer.objects.bulk_create(
        CrossBorderTransfer(
            operator=operator,
            filing=filing,
            platform=platform,
            external_id=f'TX-"{i}"\\\n\u2028',  # quotes, backslash, line breaks: escaped alike
            occurred_at=at,
            direction="OUT" if i % 2 else "IN",
            investor_ref=f"инвестор-{i}",
            asset="USDT",
            amount=Decimal(amount),
            value_byn=Decimal(value),
        )
        for i, (at, amount, value) in enumerate(zip(INSTANTS, AMOUNTS, VALUES_BYN, strict=True))
    )
    shown = shown_by_api(TransferSerializer, transfers_for_api())
    assert shown == shown_by_drf(TransferSerializer, transfers_with_codes())
    assert [row["occurred_at"] for row in shown] == [
        "2025-01-01T03:00:00+03:00",  # Minsk time, as the rest of the API
        "2025-07-01T00:00:00.123456+03:00",
        "2024-03-01T02:59:59.500000+03:00",
        "2005-01-15T14:00:00+02:00",
        "2005-07-15T15:00:00.000001+03:00",
        "1970-01-01T03:00:00+03:00",
    ]
    assert [row["amount"] for row in shown][:2] == ["0.000000000000000001", "12345678901234567890.500000000000000000"]
    assert [row["value_byn"] for row in shown][:2] == ["0.01", "1000000000000000.00"]
    assert shown[0]["operator"] == operator.unp
    assert shown[0]["platform"] == platform.slug


@pytest.mark.django_db
def test_stat_rows_show_what_drf_shows():
    run = OutflowRun.objects.create(as_of=datetime(2025, 12, 31, tzinfo=UTC), window_days=90, status=RunStatus.FINISHED)
    common = {
        "run": run,
        "dimension": "operator",
        "returned_value_byn": Decimal("40.00"),
        "unreturned_value_byn": Decimal("60.00"),
        "pending_outbound_value_byn": Decimal(0),
        "pending_returned_value_byn": Decimal("-0.01"),
        "outbound_count": 3,
    }
    shares = [Decimal("0.600000"), None, Decimal(0), Decimal(1), Decimal("0.000001"), Decimal("0.123457")]
    for i, share in enumerate(shares):
        outbound = Decimal("99999999999999999.99") if i == 0 else Decimal(100 + i)
        OutflowStat.objects.create(
            key=f"k{i}", cohort="all", non_return_share=share, outbound_value_byn=outbound, **common
        )
    shown = shown_by_api(OutflowStatSerializer, OutflowStatSerializer.rows(OutflowStat.objects.all()))
    assert shown == shown_by_drf(OutflowStatSerializer, OutflowStat.objects.all())
    assert shown[0]["run"] == run.pk
    assert [row["non_return_share"] for row in shown] == [0.6, None, 0, 1, 0.000001, 0.123457]  # numbers
    assert shown[0]["outbound_value_byn"] == "99999999999999999.99"
    assert shown[0]["pending_returned_value_byn"] == "-0.01"


@pytest.mark.parametrize("zone", ["Europe/Minsk", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Eucla"])
def test_datetimes_are_written_as_drf_writes_them(zone):
    # The renderer writes the datetimes of a row itself (orjson): the same text as DRF's field,
    # microseconds only when there are any, "Z" for a zero offset, over 1970-2100 at random.
    rng = random.Random(zone)
    instants = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(4_102_444_800 * 10**6))]
    instants += [i.replace(microsecond=0) for i in instants * 2]
    for _ in range(2000):
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(4_102_444_800))
        instants.append(at.replace(microsecond=rng.choice([0, 1, 500000, rng.randrange(10**6)])))
    field = drf.DateTimeField()
    with override_settings(TIME_ZONE=zone), timezone.override(ZoneInfo(zone)):
        plan = row_plan(TransferSerializer(), timezone.get_current_timezone(), "postgresql")
        for at in instants:
            row = dict.fromkeys(plan.names, 1) | {"occurred_at": at, "updated_at": None}
            shown = orjson.loads(ApiJSONRenderer().render(row_dict(plan, tuple(row.values()))))
            assert shown["occurred_at"] == field.to_representation(at), at
            assert shown["updated_at"] is None


def test_a_field_without_an_exact_sql_form_is_refused():
    class Localized(TransferSerializer):
        value_byn = drf.DecimalField(max_digits=18, decimal_places=2, localize=True)

    class OtherScale(TransferSerializer):
        value_byn = drf.DecimalField(max_digits=18, decimal_places=3)  # numeric(18, 2) prints 2 decimals

    class Method(TransferSerializer):
        asset = drf.SerializerMethodField()

        def get_asset(self, row) -> str:
            return "?"

    class IdNotFirst(TransferSerializer):
        class Meta(TransferSerializer.Meta):
            fields = ["external_id", "id"]

    for serializer_class in (Localized, OtherScale, Method, IdNotFirst):
        with pytest.raises(ImproperlyConfigured):
            row_plan(serializer_class(), UTC, "postgresql")
    # On other databases the plain columns go through DRF's own fields: nothing to refuse there.
    assert not row_plan(Localized(), UTC, "sqlite").written_by_sql


def test_the_renderer_writes_a_decimal_as_drf_does():
    # Only a field with coerce_to_string=False hands the renderer a Decimal: a number, as in DRF.
    data = {"share": Decimal("0.600000"), "none": None, "text": "0.10", "lazy": timezone.now().date()}
    assert orjson.loads(ApiJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))
    assert orjson.loads(ApiJSONRenderer().render(data))["share"] == 0.6
