"""GET /api/v1/outflows/runs/{run_pk}/filings/: the filings an outflow run read (issue 17 item 6).

A run records exactly which transfer and client registers it read, with the SHA-256 of each
(outflows.inputs.run_inputs_store); this lists that record, each filing with its kind, operator,
period and whether it is still the accepted one or was superseded since. Scope `outflows`, read as
/api/v1/outflows/runs/ is (agencies and the SCC; operator staff never hold the scope). No such run:
404; a run without a record (not finished, or finished before runs kept one): 404 with code
`not_recorded`, not an empty list, which would say that the run read nothing. Every pull is in the
audit log, as a pull of filings is.
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.exceptions import APIException, NotFound

from api import filters, serializers
from api.access import access_of
from api.models import Scope
from api.pagination import IdCursorPagination
from api.selectors import RunNotRecorded, run_filings_read_for_api
from api.views import ApiViewSet, PullAuditMixin
from config.params import id_param
from outflows.models import OutflowRun, OutflowRunFiling


class RunNotRecordedError(APIException):
    status_code = status.HTTP_404_NOT_FOUND
    default_detail = "This run kept no record of the filings it read (not finished, or finished before runs kept one)."
    default_code = "not_recorded"


class FilingIdCursorPagination(IdCursorPagination):
    """Cursor pages in filing id order (a filing appears once per run: the record's unique key)."""

    ordering = "filing_id"


@extend_schema_view(
    list=extend_schema(
        summary="The filings a run read, with their SHA-256",
        description=(
            "The transfer and client registers the run read, as it recorded them, and whether each is still"
            " the accepted filing now (`current`) or was superseded since (`superseded_by`). 404 with code"
            " `not_recorded` for a run that kept no record."
        ),
        tags=["outflows"],
        parameters=[OpenApiParameter("run_pk", int, OpenApiParameter.PATH, description="Run id.")],
    ),
)
class RunFilingViewSet(PullAuditMixin, mixins.ListModelMixin, ApiViewSet):
    required_scope = Scope.OUTFLOWS
    serializer_class = serializers.RunFilingSerializer
    filterset_class = filters.RunFilingFilter
    pagination_class = FilingIdCursorPagination
    audit_action = "api.pull.outflow_run_filings"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return OutflowRunFiling.objects.none()
        try:
            return run_filings_read_for_api(access=access_of(self.request), run_id=id_param(self.kwargs.get("run_pk")))
        except OutflowRun.DoesNotExist as exc:
            raise NotFound("No run with this id.") from exc
        except RunNotRecorded as exc:
            raise RunNotRecordedError() from exc
