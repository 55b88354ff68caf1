"""A run stores the cross-tabs, the excess apart and the variants (issue 17 items 2, 3), through PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from operators.models import ClientRecord, FilingKind, FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.outflows.factories import BASE, UNP_A, UNP_B, add_transfers, operator, transfer

pytestmark = pytest.mark.django_db

LATE = BASE + dt.timedelta(days=1000)


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


def _example():
    """1 BTC out worth 100, back whole 60 days later worth 40; 100 USDT out to alpha, home from beta."""
    add_transfers(
        transfer("OUT", "100", day=0, external_id="btc-out"),
        transfer("IN", "40", day=60, external_id="btc-in"),
        transfer("OUT", "100", day=0, external_id="usdt-out"),
        transfer("IN", "100", day=10, platform_slug="beta", external_id="usdt-in"),
        transfer("OUT", "50", day=5, investor="inv-2", unp=UNP_B, external_id="b-out"),
    )
    CrossBorderTransfer.objects.filter(external_id__startswith="btc").update(asset="BTC", amount=Decimal("1"))
    register = RegistrationFiling.objects.create(
        operator=operator(UNP_A), kind=FilingKind.CLIENT_REGISTER, status=FilingStatus.ACCEPTED,
        period_start=dt.date(2024, 1, 1), period_end=dt.date(2024, 3, 31), sha256="1" * 64, original_name="c.csv",
    )  # fmt: skip
    ClientRecord.objects.create(
        operator=operator(UNP_A), filing=register, investor_ref="inv-1", residency_country="RU",
        registered_at=dt.date(2023, 12, 1), kyc_level="enhanced",
    )  # fmt: skip


def cell(run, dimension, key, cohort="all"):
    stat = run.stats.get(dimension=dimension, key=key, cohort=cohort)
    return stat.outbound_value_byn, stat.returned_value_byn


def test_run_stores_cross_tabs_excess_and_variants():
    _example()
    run = outflow_run_compute(as_of=LATE)
    assert cell(run, "overall", "all") == (Decimal("250.00"), Decimal("40.00"))  # canonical unchanged
    assert cell(run, "asset", "BTC") == (Decimal("100.00"), Decimal("40.00"))
    assert cell(run, "asset", "USDT") == (Decimal("150.00"), Decimal("0.00"))
    assert cell(run, "operator_platform", f"{UNP_A}:alpha") == (Decimal("200.00"), Decimal("40.00"))
    assert cell(run, "operator_country", f"{UNP_A}:CY") == (Decimal("200.00"), Decimal("40.00"))
    # inv-1 is in operator A's register (RU, enhanced); inv-2 (operator B) is in none
    assert cell(run, "residency", "RU") == (Decimal("200.00"), Decimal("40.00"))
    assert cell(run, "kyc", "enhanced") == (Decimal("200.00"), Decimal("40.00"))
    assert cell(run, "residency", "-") == (Decimal("50.00"), Decimal("0.00"))
    assert run.stats.filter(dimension="residency", cohort="2024-01").count() == 2
    v = run.variants
    assert v["canonical"]["overall"]["share"] == "0.840000"
    assert v["investor_level"]["overall"] == {"outbound": "250.00", "returned": "140.00", "share": "0.440000"}
    assert v["investor_level"]["operator"][UNP_A]["share"] == "0.300000"
    assert v["unit_based"]["operator"][UNP_A] == {
        "outbound": "200.00", "returned": "100.00", "share": "0.500000", "price_effect": "0.300000",
    }  # fmt: skip
    assert v["unit_based"]["price_effect"] == "0.240000"
    assert v["excess"] == {"operator": {UNP_A: "100.00"}, "platform": {"beta": "100.00"}, "country": {"SC": "100.00"}}
    assert run.excess_return_byn == Decimal("100.00")


def test_register_valid_at_the_outbound_date():
    """A record counts from the later of its registration and its register's period start."""
    _example()
    ClientRecord.objects.filter(investor_ref="inv-1").update(registered_at=dt.date(2024, 1, 20))  # after day 0
    run = outflow_run_compute(as_of=LATE)
    assert cell(run, "residency", "-") == (Decimal("250.00"), Decimal("40.00"))
    assert not run.stats.filter(dimension="residency", key="RU").exists()


def test_without_variants_the_run_is_canonical_only(settings):
    _example()
    settings.OUTFLOW_VARIANTS = False
    run = outflow_run_compute(as_of=LATE)
    assert run.variants == {}
    assert set(run.stats.values_list("dimension", flat=True).distinct()) == {
        "overall",
        "operator",
        "platform",
        "country",
    }
    assert cell(run, "overall", "all") == (Decimal("250.00"), Decimal("40.00"))


def test_orm_reader_gives_the_copy_readers_variants():
    _example()
    copy = outflow_run_compute(as_of=LATE)
    orm = outflow_run_compute(as_of=LATE, reader="orm")
    assert orm.variants == copy.variants
    fields = ("dimension", "key", "cohort", "outbound_value_byn", "returned_value_byn", "returned_30d_byn")
    assert list(orm.stats.values_list(*fields)) == list(copy.stats.values_list(*fields))
