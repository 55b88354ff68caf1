"""A superseded client register's rows: moved to ArchivedClientRecord, never deleted (issue 17 item 6).

The intake's supersession (filings/processing.py) takes the replaced register's
rows out of ClientRecord, so every live reader keeps seeing one register per
period; they are kept here with their ids, so that an outflow run which read
them can be re-derived (outflows.rederive). The transfer register's rows go to
outflows' own archive the same way (outflows.inputs, through filings.hooks).
"""

from django.db import connection

from filings.models import ArchivedClientRecord
from operators.models import ClientRecord, RegistrationFiling

COLUMNS = "id, operator_id, filing_id, investor_ref, residency_country, registered_at, kyc_level"
_LIVE = ClientRecord._meta.db_table
_ARCHIVE = ArchivedClientRecord._meta.db_table
_MOVE_PG = (
    f"WITH moved AS (DELETE FROM {_LIVE} WHERE filing_id = %s RETURNING {COLUMNS})"  # noqa: S608
    f" INSERT INTO {_ARCHIVE} ({COLUMNS}) SELECT {COLUMNS} FROM moved"
)
_COPY_OTHER = f"INSERT INTO {_ARCHIVE} ({COLUMNS}) SELECT {COLUMNS} FROM {_LIVE} WHERE filing_id = %s"  # noqa: S608
_DELETE_OTHER = f"DELETE FROM {_LIVE} WHERE filing_id = %s"  # noqa: S608


def client_records_archive(*, filing: RegistrationFiling) -> int:
    """Move a superseded client register's rows to the archive, in the caller's transaction; how many moved."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_MOVE_PG, [filing.pk])
            return cursor.rowcount
        cursor.execute(_COPY_OTHER, [filing.pk])
        moved = cursor.rowcount
        cursor.execute(_DELETE_OTHER, [filing.pk])
        return moved
