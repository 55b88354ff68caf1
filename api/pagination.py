"""Cursor pagination everywhere: no COUNT(*), a stable order by id, deep pages as cheap as the first."""

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


class IdCursorPagination(CursorPagination):
    """Keyset pages on the primary key.

    Ordered by id (unique), so the cursor is an exact position: every row is
    returned once however large the table. Rows change by replacement (new id)
    or get a newer `updated_at`, so an incremental pull is `updated_since=<start
    of the previous pull>` followed to the last page.
    """

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError({self.page_size_query_param: ["Expected a whole number of 1 or more."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Rows per page (default {self.page_size}); "
                    f"above {self.max_page_size} counts as {self.max_page_size}."
                )
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = "Opaque position: the `next`/`previous` link of the previous page."
        return parameters

    def _get_position_from_instance(self, instance, ordering):
        if isinstance(instance, tuple):  # the rows of api.rows: the id first
            return str(instance[0])
        return super()._get_position_from_instance(instance, ordering)

    def decode_cursor(self, request):
        invalid = exceptions.ValidationError({self.cursor_query_param: ["Invalid cursor."]})
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            # A malformed cursor is bad input (400), not a missing resource.
            raise invalid from exc
        # DRF checks the offset and direction but not the position, compared with the id column:
        # `p=abc` (or a number beyond bigint) would fail in the query, a 500.
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                raise invalid from None
            if not _BIGINT_MIN <= position <= _BIGINT_MAX:
                raise invalid
            cursor = cursor._replace(position=str(position))
        return cursor
