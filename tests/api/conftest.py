"""A small world for the API tests: two operators with staff, an auditor, data of every kind, tokens."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import Scope
from api.services import api_token_create
from audits.models import Flag, FlagStatus, Rule
from operators.models import FilingError, FilingKind, FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat, RunStatus
from tests.factories import OperatorFactory, PlatformFactory, auditor, operator_staff

ALL = list(Scope.values)

TRANSFER_CSV = (
    b"external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
    b"TX-1,2025-03-05T10:00:00+03:00,OUT,inv1,binance,AE,USDT,10.5,33.25\n"
)


def make_filing(operator, **kwargs) -> RegistrationFiling:
    fields = {
        "kind": FilingKind.TRANSFER_REGISTER,
        "period_start": date(2025, 3, 1),
        "period_end": date(2025, 3, 31),
        "sha256": "0" * 64,
        "file": "x",
        "status": FilingStatus.ACCEPTED,
    }
    fields.update(kwargs)
    return RegistrationFiling.objects.create(operator=operator, **fields)


def make_transfers(operator, filing, platform, n: int, *, start: int = 0) -> list[CrossBorderTransfer]:
    base = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)
    return CrossBorderTransfer.objects.bulk_create(
        [
            CrossBorderTransfer(
                operator=operator,
                filing=filing,
                platform=platform,
                external_id=f"TX-{operator.pk}-{i:07d}",
                occurred_at=base + timedelta(minutes=i),
                direction="OUT" if i % 3 else "IN",
                investor_ref=f"inv{i % 11}",
                asset="USDT",
                amount=Decimal(i + 1),
                value_byn=Decimal(i + 1) * 3,
            )
            for i in range(start, start + n)
        ]
    )


def make_run(*, finished_at=None, keys=("all",)) -> OutflowRun:
    now = timezone.now()
    run = OutflowRun.objects.create(
        as_of=now, status=RunStatus.FINISHED, started_at=now, finished_at=finished_at or now, input_rows=10
    )
    OutflowStat.objects.bulk_create(
        [
            OutflowStat(
                run=run,
                dimension="overall",
                key=key,
                cohort=cohort,
                outbound_value_byn=Decimal(100),
                returned_value_byn=Decimal(60),
                unreturned_value_byn=Decimal(40),
                non_return_share=Decimal("0.4"),
                pending_outbound_value_byn=Decimal(0),
                pending_returned_value_byn=Decimal(0),
                outbound_count=1,
            )
            for key in keys
            for cohort in ("2025-01", "2025-02", "all")
        ]
    )
    return run


@dataclass
class World:
    op_a: object
    op_b: object
    staff_a: object
    staff_b: object
    auditor: object
    platform: object
    filing_a: RegistrationFiling
    filing_b: RegistrationFiling
    flag_a: Flag
    flag_b: Flag
    transfer_a: CrossBorderTransfer
    run: OutflowRun
    keys: dict


def client_with(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the cache (Redis in the test command): start every test at zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2 costs most of a second per test user on the shared cores; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db) -> World:
    op_a, op_b = OperatorFactory(), OperatorFactory()
    staff_a, staff_b = operator_staff(op_a), operator_staff(op_b)
    the_auditor = auditor()
    platform = PlatformFactory(slug="binance")
    filing_a, filing_b = make_filing(op_a), make_filing(op_b, sha256="1" * 64)
    FilingError.objects.create(
        filing=filing_a, row=2, column="asset", value="x", code="invalid_asset", message_ru="r", message_en="e"
    )
    rule = Rule.objects.order_by("id").first()
    flag_a = Flag.objects.create(
        operator=op_a, rule=rule, fingerprint="a" * 64, subject="s", severity="high", status=FlagStatus.CONFIRMED
    )
    flag_b = Flag.objects.create(
        operator=op_b, rule=rule, fingerprint="b" * 64, subject="s", severity="high", status=FlagStatus.CONFIRMED
    )
    transfer_a = make_transfers(op_a, filing_a, platform, 3)[0]
    run = make_run()
    past = timezone.now() - timedelta(days=1)
    keys = {
        "agency_all": api_token_create(name="NB all", scopes=ALL).key,
        "expired": api_token_create(name="old", scopes=ALL, expires_at=past).key,
        "operator_a": api_token_create(name="A", scopes=ALL, user=staff_a, operator=op_a).key,
        "operator_b": api_token_create(name="B", scopes=ALL, user=staff_b, operator=op_b).key,
        "auditor": api_token_create(name="SCC", scopes=ALL, user=the_auditor).key,
    }
    revoked = api_token_create(name="revoked", scopes=ALL)
    from api.services import api_token_revoke

    api_token_revoke(token=revoked.token)
    keys["revoked"] = revoked.key
    for scope in ALL:
        keys[f"only:{scope}"] = api_token_create(name=f"only {scope}", scopes=[scope]).key
        keys[f"all-but:{scope}"] = api_token_create(name=f"no {scope}", scopes=[s for s in ALL if s != scope]).key
    return World(
        op_a, op_b, staff_a, staff_b, the_auditor, platform, filing_a, filing_b, flag_a, flag_b, transfer_a, run, keys
    )


@pytest.fixture
def agency(world) -> APIClient:
    return client_with(world.keys["agency_all"])
