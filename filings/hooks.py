"""What the intake asks of the layers above it, without importing them (docs/ARCHITECTURE.md).

The filings layer (3) owns these registries; a higher app fills them in its
AppConfig.ready() (outflows/apps.py, audits/apps.py). Plain lists and dicts, no signals:
the call order is the registration order and a missing hook is a visible gap, not a
silent no-op where it matters (a transfer register without an importer is an internal error).

- ``row_importers[kind]``: loads the rows of a filing kind the intake does not load itself
  (the transfer register: outflows' bulk COPY ingest) and takes them out of the live rows when a
  later filing supersedes it (outflows keeps a transfer register's rows in its archive).
- ``on_filing_accepted``: called with each filing accepted by processing, after its commit
  (outflows schedules its debounced recompute for a transfer register).
- ``operator_desk``: the operator staff's panels on the filings page (the audits app: periods
  due or missed, confirmed flags awaiting an answer).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass
class ImportFigures:
    """The figures of an import: the intake's outcome and a row importer's result both carry them."""

    rows_total: int = 0
    rows_imported: int = 0
    rows_skipped: int = 0
    out_value: Decimal = Decimal(0)
    in_value: Decimal = Decimal(0)


@dataclass(frozen=True)
class RowImporter:
    """``load(filing=, source=, table=, positions=, errors=)`` returns the import's ImportFigures (or
    a subclass); ``delete(filing=)`` removes the rows an earlier import of ``filing`` wrote."""

    load: Callable[..., Any]
    delete: Callable[..., None]


row_importers: dict[str, RowImporter] = {}
on_filing_accepted: list[Callable[..., None]] = []
operator_desk: list[Callable[..., tuple[list, list]]] = []


def register_row_importer(kind: str, *, load: Callable[..., Any], delete: Callable[..., None]) -> None:
    row_importers[kind] = RowImporter(load=load, delete=delete)


def subscribe_filing_accepted(callback: Callable[..., None]) -> None:
    """``callback(filing=)`` for every accepted filing; registering the same callable twice is one subscription."""
    if callback not in on_filing_accepted:
        on_filing_accepted.append(callback)


def provide_operator_desk(provider: Callable[..., tuple[list, list]]) -> None:
    """``provider(access=, operator_ids=)`` -> (calendar rows, flags the caller's operators.access.Access
    may see); the last one registered answers."""
    operator_desk[:] = [provider]
