"""PostgreSQL connections load `timestamptz` with psycopg's C loader.

Django's psycopg 3 backend registers, on every connection, a subclass of psycopg's
*pure-Python* `TimestamptzLoader` (a regular expression and two datetime operations per
value, then `.replace(tzinfo=connection.timezone)`), even when psycopg's C implementation
(psycopg[binary] / psycopg[c]) is installed: about 6 µs of CPU per value, ten times the C
loader's, 1 to 1.4 ms on a page of 100 transfers (200 values), in every query of the portal.
psycopg's C loader gives the very same values: aware datetimes in the session's time zone,
which Django sets to UTC (`SET TIME ZONE 'UTC'`) before the connection is used, and psycopg
maps the session's "UTC" to `datetime.timezone.utc`, the very tzinfo Django puts there itself.

psycopg's C row maker calls a C loader's `cload` directly, with no Python call per value. A
C loader cannot be subclassed (psycopg's extension types are final, so no Python `load`
override is even possible), and a Python loader wrapping one would cost a Python call per
value again. So what is registered is a stand-in class whose instances *are* C loaders, with
the `timezone` attribute Django's `create_cursor` compares with the connection's: equal, so
Django does not register its own loader again on each cursor.

Only when Django itself would give UTC datetimes (USE_TZ on, the database TIME_ZONE unset)
and the C implementation is loaded; otherwise nothing changes (pure-Python psycopg, or
USE_TZ off, when Django's own per-cursor loader applies), and only while
settings.API_FAST_PATHS["c_timestamptz_loader"] is on. tests/test_db_timestamps.py
compares both loaders value by value.
"""

import datetime

from django.conf import settings
from psycopg import adapters
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader as PyTimestamptzLoader

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid


def _c_timestamptz_loader() -> type | None:
    """psycopg's C loader for text timestamptz, None when only the pure-Python psycopg is installed."""
    loader = adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    return None if loader is None or loader is PyTimestamptzLoader else loader


C_TIMESTAMPTZ_LOADER = _c_timestamptz_loader()


class UtcTimestamptzLoader:
    """Registered like a loader class; `UtcTimestamptzLoader(oid, context)` returns a C loader."""

    format = Format.TEXT
    timezone = datetime.UTC  # read by Django's DatabaseWrapper.create_cursor
    c_loader = C_TIMESTAMPTZ_LOADER

    def __new__(cls, oid: int, context=None):
        return cls.c_loader(oid, context)


def use_c_timestamptz_loader(sender, connection, **kwargs) -> None:
    """`connection_created` receiver: after Django's own set-up (session time zone included)."""
    if connection.vendor != "postgresql" or C_TIMESTAMPTZ_LOADER is None:
        return
    if not settings.API_FAST_PATHS.get("c_timestamptz_loader", True):  # the switch: Django's own loader
        return
    if connection.timezone is not datetime.UTC:  # USE_TZ off or a database TIME_ZONE: Django's loader
        return
    raw = connection.connection
    if raw.info.parameter_status("TimeZone") != "UTC":  # psycopg would not give timezone.utc
        return
    raw.adapters.register_loader(TIMESTAMPTZ_OID, UtcTimestamptzLoader)
