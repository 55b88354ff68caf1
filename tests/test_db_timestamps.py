"""timestamptz values are loaded by psycopg's C loader (config/db.py), exactly as Django's own loader loads them."""

import datetime

import psycopg
import pytest
from django.db import DataError, connection, connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.test.utils import override_settings
from psycopg.pq import Format

from config import db
from outflows.models import OutflowRun, RunStatus

pytestmark = pytest.mark.django_db

VALUES = [
    "2026-11-29 21:15:03.123456+00",
    "2026-11-29 21:15:03.1+00",
    "2026-11-29 21:15:03+00",
    "2026-03-29 00:30:00.000001+03",  # an offset in the literal: the session answers in UTC
    "1969-12-31 23:59:59.999999+00",
    "1900-01-01 00:00:00+00",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    None,
]
QUERY = "SELECT " + ", ".join(f"%s::timestamptz AS v{i}" for i in range(len(VALUES)))


def _django_loader_rows(sql: str, params=()) -> list[tuple]:
    """The same query through Django's own loader (pure Python), on the same connection."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        register_tzloader(connection.timezone, raw)  # what Django registers (on the connection)
        raw.execute(sql, params)
        return raw.fetchall()


def _portal_rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _loader_of_a_cursor():
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.cursor.adapters.get_loader(db.TIMESTAMPTZ_OID, Format.TEXT)


def _same(a, b) -> None:
    assert a == b
    for x, y in zip(a, b, strict=True):
        assert type(x) is type(y)
        if isinstance(x, datetime.datetime):
            assert x.tzinfo is y.tzinfo is datetime.UTC
            assert (x.year, x.microsecond, x.utcoffset()) == (y.year, y.microsecond, y.utcoffset())


def test_the_c_implementation_is_installed():
    # requirements.in: psycopg[binary]. Without it the portal still works, with Django's loader.
    assert psycopg.pq.__impl__ in ("binary", "c")
    assert db.C_TIMESTAMPTZ_LOADER is not None
    assert db.C_TIMESTAMPTZ_LOADER is psycopg.adapters.get_loader(db.TIMESTAMPTZ_OID, Format.TEXT)
    assert not issubclass(db.C_TIMESTAMPTZ_LOADER, psycopg.types.datetime.TimestamptzLoader)


def test_every_cursor_loads_timestamptz_with_the_c_loader():
    connection.ensure_connection()
    assert connection.connection.info.parameter_status("TimeZone") == "UTC"
    # Django's create_cursor re-registers its own loader on a cursor whose connection's
    # loader has another `timezone`: it must not, so cursors use the connection's.
    assert _loader_of_a_cursor() is db.UtcTimestamptzLoader
    loader = db.UtcTimestamptzLoader(db.TIMESTAMPTZ_OID, connection.connection)
    assert type(loader) is db.C_TIMESTAMPTZ_LOADER
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        # The loader the row maker (psycopg's Transformer) converts this result's values with.
        assert type(cursor.cursor._tx.get_loader(db.TIMESTAMPTZ_OID, Format.TEXT)) is db.C_TIMESTAMPTZ_LOADER


def test_values_are_those_of_djangos_loader():
    expected = _django_loader_rows(QUERY, VALUES)
    got = _portal_rows(QUERY, VALUES)
    _same(got[0], expected[0])
    assert got[0][3] == datetime.datetime(2026, 3, 28, 21, 30, 0, 1, tzinfo=datetime.UTC)
    assert got[0][8] is None


def test_a_timestamp_series_is_loaded_identically():
    sql = (
        "SELECT g FROM generate_series(%s::timestamptz, %s::timestamptz, %s::interval) g"
        " UNION ALL SELECT g + interval '0.000007 s' * n"
        " FROM generate_series(-3000, 3000) n, (VALUES ('1970-01-01 00:00:00+00'::timestamptz)) v(g)"
    )
    params = ("1899-06-30 12:00:00+00", "2100-01-01 00:00:00+00", "1234567.891011 seconds")
    expected = _django_loader_rows(sql, params)
    got = _portal_rows(sql, params)
    assert len(got) > 9000
    for a, b in zip(got, expected, strict=True):
        _same(a, b)


def test_arrays_and_the_orm():
    got = _portal_rows("SELECT ARRAY[%s::timestamptz, %s::timestamptz]", VALUES[:2])
    expected = _django_loader_rows("SELECT ARRAY[%s::timestamptz, %s::timestamptz]", VALUES[:2])
    _same(got[0][0], expected[0][0])
    at = datetime.datetime(1960, 2, 29, 23, 59, 59, 999999, tzinfo=datetime.timezone(datetime.timedelta(hours=3)))
    run = OutflowRun.objects.create(as_of=at, status=RunStatus.FINISHED, finished_at=at)
    loaded = OutflowRun.objects.values_list("finished_at", flat=True).get(pk=run.pk)
    assert loaded == at
    assert loaded.tzinfo is datetime.UTC
    assert loaded.hour == 20


@pytest.mark.parametrize("value", ["infinity", "-infinity", "0001-01-01 00:00:00+00 BC"])
def test_values_beyond_python_are_refused_as_by_djangos_loader(value):
    # Django has no infinite datetimes: both loaders refuse them (DataError), never a wrong value.
    with pytest.raises(psycopg.DataError) as expected:
        _django_loader_rows("SELECT %s::timestamptz", [value])
    with pytest.raises(DataError) as got:
        _portal_rows("SELECT %s::timestamptz", [value])
    assert type(got.value.__cause__) is type(expected.value)
    assert str(got.value) == str(expected.value)


def test_without_use_tz_djangos_own_loader_applies():
    with override_settings(USE_TZ=False):
        loaded = _portal_rows("SELECT %s::timestamptz", ["2026-11-29 21:15:03.5+00"])[0][0]
        assert _loader_of_a_cursor() is not db.UtcTimestamptzLoader
    assert loaded == datetime.datetime(2026, 11, 30, 0, 15, 3, 500000)  # naive, Europe/Minsk
    assert _loader_of_a_cursor() is db.UtcTimestamptzLoader


def test_a_new_connection_gets_the_c_loader_and_pure_python_psycopg_keeps_djangos(monkeypatch):
    alias = "default"
    new = connections.create_connection(alias)
    try:
        new.ensure_connection()
        assert new.connection.adapters.get_loader(db.TIMESTAMPTZ_OID, Format.TEXT) is db.UtcTimestamptzLoader
    finally:
        new.close()
    monkeypatch.setattr(db, "C_TIMESTAMPTZ_LOADER", None)  # as with psycopg without psycopg_binary / psycopg_c
    new = connections.create_connection(alias)
    try:
        new.ensure_connection()
        loader = new.connection.adapters.get_loader(db.TIMESTAMPTZ_OID, Format.TEXT)
        assert issubclass(loader, psycopg.types.datetime.TimestamptzLoader)  # Django's, from its template
        with new.cursor() as cursor:
            cursor.execute(QUERY, VALUES)
            _same(cursor.fetchone(), _portal_rows(QUERY, VALUES)[0])
    finally:
        new.close()
