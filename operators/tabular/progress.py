"""How far the reading of a filing has got: the phase, rows read of rows total (issue 16, item 4).

The reader (operators/tabular/reader.py) advances it every few thousand records from its
C-speed loop; the intake (filings/progress.py) gives it a sink that stores each snapshot
where another request can read it (the cache: the import itself runs in one transaction,
so nothing it writes to the database is visible before it ends). Snapshots are sent at
most once per ``interval`` seconds, and at each change of phase.
"""

from collections.abc import Callable
from time import monotonic

# The phases, in order. "reading": the file is scanned (encoding, line lengths) or an XLSX
# sheet unpacked; "rows": each row is checked (and, for a real filing, loaded); "saving":
# the result (errors, the import) is written.
READING, ROWS, SAVING = "reading", "rows", "saving"


class Progress:
    """Rows read of rows total (None while unknown) in the current phase, reported to ``sink``."""

    def __init__(self, sink: Callable[[dict], None] | None = None, *, interval: float = 1.0):
        self.sink = sink
        self.interval = interval
        self.phase = READING
        self.rows_read = 0
        self.rows_total: int | None = None
        self._sent_at = float("-inf")

    def snapshot(self) -> dict:
        return {"phase": self.phase, "rows_read": self.rows_read, "rows_total": self.rows_total}

    def start(self, phase: str, *, rows_total: int | None = None) -> None:
        """A new phase: the count starts again (a second pass over the rows counts from 0)."""
        self.phase, self.rows_read, self.rows_total = phase, 0, rows_total
        self._send()

    def advance(self, rows_read: int) -> None:
        """Called often (every few thousand rows); sends at most once per interval."""
        self.rows_read = rows_read
        if self.rows_total is not None and rows_read > self.rows_total:
            self.rows_total = rows_read  # the line count was an estimate (quoted line breaks)
        if monotonic() - self._sent_at >= self.interval:
            self._send()

    def _send(self) -> None:
        self._sent_at = monotonic()
        if self.sink is not None:
            self.sink(self.snapshot())
