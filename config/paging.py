"""One place for list totals and pages, used by every list of the portal (templates/pagination.html).

Totals: a list shows how many rows it has without a full COUNT on every request. The count is
exact when it is cheap: at most TOTAL_EXACT_LIMIT rows, counted with a LIMIT subquery (never more
than that many index entries read). Above the limit, or when the planner already expects far
more rows than that, the total is the planner's estimate (EXPLAIN's row figure) and the page says
"about N". The embedded SQLite default has no estimate: it counts exactly.

Pages: keyset (cursor) pages for the big tables: the next page starts after the last row shown
(`after`), the previous one ends before the first row shown (`before`), so a deep page costs what
the first one costs (no OFFSET, no page count). The order must be on indexed columns ending in a
unique one (e.g. occurred_at, id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.core.exceptions import EmptyResultSet
from django.db import OperationalError, connections, transaction
from django.db.models import Q, QuerySet

# A filtered list of at most this many rows shows its exact total (the evidence links rely on it).
TOTAL_EXACT_LIMIT = 100_000
# Estimates are rough (an unanalysed table is guessed from its size): up to this many times the limit
# the rows are still counted, when that is cheap.
ESTIMATE_SKIP_FACTOR = 3
# The most a count may cost in the planner's units (seq_page_cost = 1), to rule out at once the counts
# no index serves (a sequential read of millions of rows). Counting a whole table of TOTAL_EXACT_LIMIT
# rows costs about 3 000; the planner overrates the ranges a BRIN reads (an operator's month of
# registers at 10 M rows: about 60 000, read in a few milliseconds).
COUNT_COST_BUDGET = 100_000
# A count that reads the table itself (no index) is estimated well, and is held to less.
SEQ_SCAN_COST_BUDGET = 20_000
# And the most it may take (PostgreSQL's statement_timeout, milliseconds): then the estimate is shown.
COUNT_TIMEOUT_MS = 150
CURSOR_PARAMS = ("after", "before", "page")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Total:
    """A list's total: exact, or the planner's estimate ("about N")."""

    value: int
    exact: bool


def _capped_count_sql(queryset: QuerySet, limit: int) -> tuple[str, tuple]:
    sql, params = queryset.order_by().values("pk")[: limit + 1].query.sql_with_params()
    return f"SELECT COUNT(*) FROM ({sql}) AS capped", params  # noqa: S608 - Django's own SQL


def planner_figures(queryset: QuerySet, *, limit: int = TOTAL_EXACT_LIMIT) -> tuple[int, float, bool] | None:
    """The planner's estimate of the rows the queryset selects, its cost of counting at most
    limit + 1 of them and whether that reads a table without an index (PostgreSQL: one EXPLAIN,
    nothing read); None elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = _capped_count_sql(queryset, limit)
    except EmptyResultSet:  # a filter no row can match (e.g. an unknown operator)
        return 0, 0.0, False
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = node = plan[0]["Plan"]
    while node.get("Node Type") != "Limit" and node.get("Plans"):
        node = node["Plans"][0]
    scan = node["Plans"][0] if node.get("Node Type") == "Limit" and node.get("Plans") else node
    return int(scan["Plan Rows"]), float(top["Total Cost"]), '"Seq Scan"' in json.dumps(scan)


def list_total(queryset: QuerySet, *, limit: int = TOTAL_EXACT_LIMIT) -> Total:
    """The total of a list: exact when counting it is cheap, else the planner's estimate.

    Counted when the planner expects at most a few times `limit` rows and counting them costs it
    at most COUNT_COST_BUDGET (an index reads them, or the table is small); the count stops at
    limit + 1 rows (within COUNT_TIMEOUT_MS) and is exact when it stops short of that. A fixed
    number of queries (an EXPLAIN, then that count in its own transaction), whatever the table's size.
    """
    figures = planner_figures(queryset, limit=limit)
    if figures is not None:
        estimate, cost, sequential = figures
        budget = SEQ_SCAN_COST_BUDGET if sequential else COUNT_COST_BUDGET
        if estimate > ESTIMATE_SKIP_FACTOR * limit or cost > budget:
            return Total(estimate, exact=False)
        capped = _capped_count_within(queryset, limit=limit)
        if capped is None:  # the planner misjudged it: too slow after all
            return Total(estimate, exact=False)
    else:
        capped = queryset.order_by().values("pk")[: limit + 1].count()
    if capped <= limit:
        return Total(capped, exact=True)
    if figures is not None:
        return Total(max(figures[0], limit + 1), exact=False)
    return Total(queryset.order_by().count(), exact=True)  # no planner figure (SQLite): count it


def _capped_count_within(queryset: QuerySet, *, limit: int) -> int | None:
    """At most limit + 1 of the rows counted within COUNT_TIMEOUT_MS (PostgreSQL), else None."""
    try:
        sql, params = _capped_count_sql(queryset, limit)
    except EmptyResultSet:
        return 0
    try:
        with transaction.atomic(using=queryset.db), connections[queryset.db].cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = %s", [COUNT_TIMEOUT_MS])
            _no_startup_costs(cursor)
            cursor.execute(sql, params)
            return cursor.fetchone()[0]
    except OperationalError as exc:  # psycopg's QueryCanceled
        if getattr(exc.__cause__, "sqlstate", None) == "57014":
            return None
        raise


def _no_startup_costs(cursor) -> None:
    """A page's queries read at most a few thousand rows: starting parallel workers or compiling
    with JIT costs more than it gains (the planner, misled by a BRIN's coarse estimate, would)."""
    cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    cursor.execute("SET LOCAL jit = off")


def _fetch(queryset: QuerySet) -> list:
    """The rows of a (sliced) page query; on PostgreSQL in a transaction without parallel workers or JIT."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return list(queryset)
    with transaction.atomic(using=queryset.db):
        with connection.cursor() as cursor:
            _no_startup_costs(cursor)
        return list(queryset)


def _to_key(value) -> int:
    if isinstance(value, datetime):
        return (value - _EPOCH) // _MICROSECOND
    return int(value)


def _from_key(number: int, sample_field) -> object:
    if sample_field.get_internal_type() == "DateTimeField":
        return _EPOCH + number * _MICROSECOND
    return number


def _decode(text: str, fields: list) -> tuple | None:
    """The key values of a cursor ("<int>_<int>"), or None when it is not one of ours."""
    parts = (text or "").split("_")
    if len(parts) != len(fields):
        return None
    try:
        numbers = [int(part) for part in parts]
        return tuple(_from_key(number, f) for number, f in zip(numbers, fields, strict=True))
    except (ValueError, OverflowError):
        return None


def _beyond(keys: tuple[str, ...], values: tuple, *, descending: bool) -> Q:
    """Rows strictly after `values` in the order of `keys` (all ascending, or all descending)."""
    strict, loose = ("lt", "gt") if descending else ("gt", "lt")
    if len(keys) == 1:
        return Q(**{f"{keys[0]}__{strict}": values[0]})
    first, second = keys
    return Q(**{f"{first}__{strict}e": values[0]}) & ~Q(**{first: values[0], f"{second}__{loose}e": values[1]})


@dataclass
class KeysetPage:
    """One page of a keyset list: its rows, the list's total and the links to the pages beside it."""

    rows: list
    total: Total
    next_link: str = ""
    previous_link: str = ""
    first_link: str = ""
    complete: bool = False  # every row of the list is on this page
    keyset: bool = field(default=True, init=False)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_next(self) -> bool:
        return bool(self.next_link)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_link)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def _link(params, **cursor) -> str:
    kept = [(k, v) for k, values in params.lists() if k not in CURSOR_PARAMS for v in values]
    return "?" + urlencode(kept + list(cursor.items()))


def keyset_page(
    queryset: QuerySet,
    *,
    params,
    keys: tuple[str, ...],
    descending: bool = False,
    size: int = 100,
    total: Total | None = None,
) -> KeysetPage:
    """The page of `queryset` that `params` (request.GET: `after` or `before`) points at.

    `keys`: one or two model fields (the last unique, e.g. ("occurred_at", "id")), all in one
    direction. Two queries at most for the rows, plus the total's (list_total unless given; none when
    the first page holds every row).
    """
    meta = queryset.model._meta
    fields = [meta.pk if k in ("id", "pk") else meta.get_field(k) for k in keys]
    order = [f"-{k}" if descending else k for k in keys]
    reverse = [k if descending else f"-{k}" for k in keys]
    after, before = _decode(params.get("after", ""), fields), _decode(params.get("before", ""), fields)
    if before is not None and after is None:
        total = total if total is not None else list_total(queryset)
        rows = _fetch(queryset.filter(_beyond(keys, before, descending=not descending)).order_by(*reverse)[: size + 1])
        if len(rows) > size:  # more before them: a page in the middle
            rows = rows[:size][::-1]
            return KeysetPage(
                rows=rows,
                total=total,
                next_link=_link(params, after=_cursor(rows[-1], keys)),
                previous_link=_link(params, before=_cursor(rows[0], keys)),
                first_link=_link(params),
            )
        after = None  # back at the start: the first page, full
    page_rows = queryset.order_by(*order)
    if after is not None:
        page_rows = page_rows.filter(_beyond(keys, after, descending=descending))
    rows = _fetch(page_rows[: size + 1])
    more, rows = len(rows) > size, rows[:size]
    complete = after is None and not more
    if total is None:  # the first page holding every row counts them itself
        total = Total(len(rows), exact=True) if complete else list_total(queryset)
    return KeysetPage(
        rows=rows,
        total=total,
        complete=complete,
        next_link=_link(params, after=_cursor(rows[-1], keys)) if more else "",
        previous_link=_link(params, before=_cursor(rows[0], keys)) if after is not None and rows else "",
        first_link=_link(params) if after is not None else "",
    )


def _cursor(row, keys: tuple[str, ...]) -> str:
    return "_".join(str(_to_key(getattr(row, "pk" if k in ("id", "pk") else k))) for k in keys)
