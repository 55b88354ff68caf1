"""What outflows does for the filing intake, registered in filings.hooks (OutflowsConfig.ready).

The intake (layer 3) does not import outflows (layer 4): it asks its hooks. A transfer
register's rows are loaded by the bulk ingest (outflows/ingest.py) and moved to the archive
(outflows.inputs: kept for re-deriving past runs) when a later filing supersedes it; an accepted
register schedules the debounced recompute.
"""

from filings import hooks
from filings.validate import TransferChecker
from operators.models import FilingKind
from outflows.ingest import IngestResult, transfer_register_ingest
from outflows.inputs import filing_rows_archive
from outflows.tasks import schedule_outflow_recompute


def transfer_register_load(*, filing, source, table, positions, errors) -> IngestResult:
    """Validate and COPY a transfer register's rows, within the intake's transaction."""
    checker = TransferChecker(
        positions=positions,
        period_start=filing.period_start,
        period_end=filing.period_end,
        decimal_comma=table.decimal_comma,
        errors=errors,
        width=len(table.header),
    )
    return transfer_register_ingest(
        filing=filing,
        records=table.records,
        reopen=lambda: source.table().records,
        checker=checker,
        errors=errors,
    )


def transfer_register_delete(*, filing) -> None:
    """A superseded register's rows leave the live table for the archive, never deleted (outflows.inputs)."""
    filing_rows_archive(filing=filing)


def recompute_after_register(*, filing) -> None:
    """New transfers change the non-return share; the recompute is debounced (outflows.tasks)."""
    if filing.kind == FilingKind.TRANSFER_REGISTER:
        schedule_outflow_recompute()


def register() -> None:
    hooks.register_row_importer(
        FilingKind.TRANSFER_REGISTER, load=transfer_register_load, delete=transfer_register_delete
    )
    hooks.subscribe_filing_accepted(recompute_after_register)
