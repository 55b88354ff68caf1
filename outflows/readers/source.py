"""Which rows a reader reads: the live transfers, or the rows of a given set of filings (a re-derivation).

A run reads the live table (outflows_crossbordertransfer). A past run is
re-derived (outflows.rederive) from exactly the transfer registers it read:
their rows still live plus those moved to the archive when a resubmission
superseded them (outflows_archivedtransfer, outflows.inputs). Both tables have
the columns the readers select, so the readers' queries stay as they are with
this source in their FROM clause.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql as psycopg_sql

LIVE_TABLE = "outflows_crossbordertransfer"
ARCHIVE_TABLE = "outflows_archivedtransfer"
# One branch per table, with every column a reader selects (the variants' amount and asset too);
# a constant: no value is pasted in.
_BRANCH = (
    "SELECT investor_ref, occurred_at, value_byn, platform_id, operator_id, direction, amount, asset"
    " FROM {} WHERE filing_id = ANY({})"
)
_SOURCE = "(" + _BRANCH + " UNION ALL " + _BRANCH + ") AS rows_of_filings"


def filing_array(filings: Sequence[int]) -> psycopg_sql.Composable:
    """A constant bigint[] of the filing ids (PostgreSQL hashes a long constant ANY list)."""
    text = "{" + ",".join(str(int(pk)) for pk in filings) + "}"
    return psycopg_sql.SQL("{}::bigint[]").format(psycopg_sql.Literal(text))


def transfer_source(filings: Sequence[int] | None) -> psycopg_sql.Composable:
    """The FROM item of a reader: the live table, or the live and archived rows of `filings`."""
    if filings is None:
        return psycopg_sql.Identifier(LIVE_TABLE)
    ids = filing_array(filings)
    return psycopg_sql.SQL(_SOURCE).format(
        psycopg_sql.Identifier(LIVE_TABLE), ids, psycopg_sql.Identifier(ARCHIVE_TABLE), ids
    )
