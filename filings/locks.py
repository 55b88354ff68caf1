"""The operator's import lock: one import per operator at a time, without blocking its uploads (issue 14).

Imports of one operator must not overlap: two filings would race on the unique
(operator, external_id), and a dry run writes into the real table (then rolls
back), so it must not meet another import's uncommitted rows either. The lock is
the operator's row, taken ``FOR NO KEY UPDATE``: it conflicts with itself, so
imports still run one after another, but not with the ``FOR KEY SHARE`` that
PostgreSQL takes on the operator when a row referencing it is inserted. The old
``FOR UPDATE`` did conflict with that, so while one import ran the operator's
next upload (inserting its filing row) waited for the whole import: a 500 after
the web server's 120 s timeout.

The lock is taken only for the import transaction (phase two): the file is read
first, with no lock held (operators.tabular.reader.prepare_table).
"""

from django.db import OperationalError, connection, transaction

from operators.models import Operator

_LOCK_NOT_AVAILABLE = "55P03"


class OperatorBusy(Exception):
    """Another import of the operator holds the lock longer than the caller would wait."""


def lock_operator(*, operator_id: int, wait_seconds: float | None = None) -> None:
    """Take the operator's import lock until the current transaction ends.

    ``wait_seconds`` None waits as long as it takes (a worker's import); a number
    waits that long and then raises OperatorBusy (a dry run answering a web request).
    """
    locked = Operator.objects.select_for_update(no_key=True).filter(pk=operator_id)
    if wait_seconds is None or connection.vendor != "postgresql":
        locked.first()
        return
    try:
        # A savepoint: the set_config below is undone with it if the wait fails.
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SELECT current_setting('lock_timeout')")
                previous = cur.fetchone()[0]
                cur.execute("SELECT set_config('lock_timeout', %s, true)", [f"{max(int(wait_seconds * 1000), 1)}ms"])
            locked.first()
            with connection.cursor() as cur:
                cur.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            raise OperatorBusy(operator_id) from exc
        raise
