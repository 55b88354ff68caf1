"""API v1 viewsets (DESIGN section 8). Thin: querysets, one scope each, services for writes."""

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import MethodNotAllowed, NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api import filters, serializers
from api.access import NONE, Access, access_of
from api.authentication import ApiTokenAuthentication
from api.exceptions import PayloadTooLarge, api_exception_handler
from api.models import Scope
from api.pagination import IdCursorPagination
from api.permissions import ScopePermission
from api.querysets import latest_finished_run_id, stats_for_api, transfers_for_api
from api.schema import ApiAutoSchema
from api.throttling import TokenRateThrottle
from auditlog.services import audit_event_record
from audits.models import Flag
from audits.selectors import flags_visible
from filings.selectors import filing_errors_visible, filings_visible
from filings.services import filing_submit
from operators.models import FilingError, ForeignPlatform, Operator, RegistrationFiling
from outflows.models import OutflowRun
from outflows.selectors import transfers_visible


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's static files; no inline script or style (the portal's CSP)."""

    template_name = "api/swagger_ui.html"


# Room for the multipart envelope and the small form fields around the file.
MULTIPART_SLACK_BYTES = 64 * 1024


class ApiViewSet(viewsets.GenericViewSet):
    """Shared wiring: token (or browser session) auth, one scope, per-token throttle, cursor pages."""

    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [ScopePermission]
    throttle_classes = [TokenRateThrottle]
    pagination_class = IdCursorPagination
    filter_backends = [filters.FilterBackend]
    schema = ApiAutoSchema()
    required_scope: str = ""

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        # A method the route does not have is a 405 for everyone, before auth and scopes
        # (otherwise a read-only agency would get 403 for PUT, as if it were a rights question).
        method = request.method.lower()
        action_map = getattr(self, "action_map", None) or {}
        if method not in action_map and method not in ("options", "head"):
            raise MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)

    def base_queryset(self) -> QuerySet:
        raise NotImplementedError

    def visible(self, queryset: QuerySet, access: Access) -> QuerySet:
        """What the caller may read of `queryset`, by the one access rule (operators.access and the
        selectors beside each model). Default: agencies and the SCC all, anyone else nothing."""
        return queryset if access.reads_everything else queryset.none()

    def get_queryset(self) -> QuerySet:
        queryset = self.base_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return queryset
        return self.visible(queryset, access_of(self.request))


def _loggable(text: str, limit: int) -> str:
    # PostgreSQL's jsonb refuses NUL (\u0000): a query string holding one must not turn the log into a 500.
    return text[:limit].replace("\x00", "\ufffd")


def _clip(values: list[str]) -> str | list[str]:
    """A query value as logged: at most 200 characters each (a pull is logged, not its garbage)."""
    clipped = [_loggable(v, 200) for v in values[:10]]
    return clipped[0] if len(clipped) == 1 else clipped


class PullAuditMixin:
    """Every successful pull (list page or single object) is an AuditEvent: who, endpoint, filters, rows."""

    audit_action = ""

    def _audit(self, request, rows: int) -> None:
        access = access_of(request)
        audit_event_record(
            actor=request.user,
            action=self.audit_action,
            ip=request.META.get("REMOTE_ADDR"),
            details={
                **access.label(),
                "endpoint": request.path,
                "filters": {_loggable(k, 64): _clip(v) for k, v in request.query_params.lists()},
                "rows": rows,
            },
        )

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        self._audit(request, len(response.data["results"]))
        return response


class PullAuditDetailMixin(PullAuditMixin):
    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        self._audit(request, 1)
        return response


class ReadOnlyApiViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    pass


@extend_schema_view(
    list=extend_schema(summary="Operators of the HTP registry", tags=["operators"]),
    retrieve=extend_schema(summary="One operator", tags=["operators"]),
)
class OperatorViewSet(ReadOnlyApiViewSet):
    """Operator staff see only their own operator."""

    required_scope = Scope.OPERATORS
    serializer_class = serializers.OperatorSerializer
    filterset_class = filters.OperatorFilter

    def base_queryset(self):
        return Operator.objects.all()

    def visible(self, queryset, access):
        return access.operators(queryset)


@extend_schema_view(
    list=extend_schema(summary="Foreign platforms directory", tags=["operators"]),
    retrieve=extend_schema(summary="One foreign platform", tags=["operators"]),
)
class PlatformViewSet(ReadOnlyApiViewSet):
    """The directory is the same for everyone with the `operators` scope, operator staff included."""

    required_scope = Scope.OPERATORS
    serializer_class = serializers.PlatformSerializer
    filterset_class = filters.PlatformFilter

    def base_queryset(self):
        return ForeignPlatform.objects.all()

    def visible(self, queryset, access):
        return queryset if access.role != NONE else queryset.none()


DRY_RUN = OpenApiParameter(
    "dry_run",
    bool,
    description="1: validate only and answer 200 with the error report; nothing is stored.",
    required=False,
)


@extend_schema_view(
    list=extend_schema(summary="Registration filings", tags=["filings"]),
    retrieve=extend_schema(summary="One filing", tags=["filings"]),
    create=extend_schema(
        summary="Submit a filing (operator staff)",
        tags=["filings"],
        parameters=[DRY_RUN],
        request={"multipart/form-data": serializers.FilingCreateSerializer},
        responses={
            202: OpenApiResponse(serializers.FilingAcceptedSerializer, description="Stored and queued."),
            200: OpenApiResponse(serializers.DryRunReportSerializer, description="Dry run report."),
        },
    ),
)
class FilingViewSet(PullAuditDetailMixin, mixins.CreateModelMixin, ReadOnlyApiViewSet):
    """Filings: agencies and auditors read all; operator staff read and submit their own operator's."""

    required_scope = Scope.FILINGS
    serializer_class = serializers.FilingSerializer
    filterset_class = filters.FilingFilter
    audit_action = "api.pull.filings"
    operator_write_methods = ("POST",)
    parser_classes = [MultiPartParser, FormParser]

    def base_queryset(self):
        return RegistrationFiling.objects.select_related("operator")

    def visible(self, queryset, access):
        return filings_visible(access=access, queryset=queryset)

    def _target_operator(self, access, requested: int | None) -> Operator:
        if requested is not None:
            if requested not in access.operator_ids:
                raise NotFound()  # another operator's: do not reveal that it exists
            return Operator.objects.get(pk=requested)
        if len(access.operator_ids) != 1:
            raise ValidationError({"operator": ["You act for several operators: name one."]})
        return Operator.objects.get(pk=access.operator_ids[0])

    def create(self, request, *args, **kwargs):
        limit = settings.FILING_MAX_UPLOAD_BYTES
        try:
            declared_length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared_length = 0
        if declared_length > limit + MULTIPART_SLACK_BYTES:
            raise PayloadTooLarge()  # refused before a byte of the body is read
        form = serializers.FilingCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        operator = self._target_operator(access_of(request), data.get("operator"))
        upload = data["file"]
        if upload.size is not None and upload.size > limit:
            raise PayloadTooLarge()
        dry_run = request.query_params.get("dry_run", "").lower() in ("1", "true", "yes")
        result = filing_submit(
            operator=operator,
            kind=data["kind"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            uploaded_file=upload,
            user=request.user,
            declared_rows=data.get("declared_rows"),
            declared_out_byn=data.get("declared_out_byn"),
            declared_in_byn=data.get("declared_in_byn"),
            dry_run=dry_run,
        )
        if any(e.code == "file_too_large" for e in result.errors):
            raise PayloadTooLarge()
        if dry_run:
            return Response(
                {
                    "status": result.status,
                    "rows": result.rows,
                    "errors": [e.as_dict() for e in result.errors],
                    "warnings": result.warnings,
                },
                status=status.HTTP_200_OK,
            )
        url = reverse("api:filing-detail", kwargs={"pk": result.filing.pk}, request=request)
        return Response(
            {"filing": result.filing.pk, "url": url, "status": result.status, "existing": result.existing},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


@extend_schema_view(
    list=extend_schema(
        summary="Row errors of one filing",
        tags=["filings"],
        parameters=[OpenApiParameter("filing_pk", int, OpenApiParameter.PATH, description="Filing id.")],
    ),
)
class FilingErrorViewSet(PullAuditMixin, mixins.ListModelMixin, ApiViewSet):
    """The error report of one filing (row, column, value, code, messages in Russian and English)."""

    required_scope = Scope.FILINGS
    serializer_class = serializers.FilingErrorSerializer
    filterset_class = filters.FilingErrorFilter
    audit_action = "api.pull.filings"

    def base_queryset(self):
        return FilingError.objects.filter(filing_id=self.kwargs.get("filing_pk"))

    def visible(self, queryset, access):
        return filing_errors_visible(access=access, queryset=queryset)

    def list(self, request, *args, **kwargs):
        # Another operator's filing (or none at all) is a 404, not an empty list.
        filings = filings_visible(
            access=access_of(request), queryset=RegistrationFiling.objects.filter(pk=kwargs["filing_pk"])
        )
        if not filings.exists():
            raise NotFound()
        return super().list(request, *args, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="Violation flags", tags=["flags"]),
    retrieve=extend_schema(summary="One flag", tags=["flags"]),
)
class FlagViewSet(ReadOnlyApiViewSet):
    """Operator staff see only flags an auditor confirmed on their own operator (DESIGN section 7)."""

    required_scope = Scope.FLAGS
    serializer_class = serializers.FlagSerializer
    filterset_class = filters.FlagFilter

    def base_queryset(self):
        return Flag.objects.select_related("operator", "rule")

    def visible(self, queryset, access):
        return flags_visible(access=access, queryset=queryset)


@extend_schema_view(
    list=extend_schema(summary="Cross-border transfers (cursor pages)", tags=["transfers"]),
    retrieve=extend_schema(summary="One transfer", tags=["transfers"]),
)
class TransferViewSet(PullAuditDetailMixin, ReadOnlyApiViewSet):
    """Cross-border transfers, ordered by id in cursor pages; each pull is recorded in the audit log."""

    required_scope = Scope.TRANSFERS
    serializer_class = serializers.TransferSerializer
    filterset_class = filters.TransferFilter
    audit_action = "api.pull.transfers"

    def base_queryset(self):
        return transfers_for_api()

    def visible(self, queryset, access):
        return transfers_visible(access=access, queryset=queryset)


@extend_schema_view(
    list=extend_schema(summary="Runs of the non-return computation", tags=["outflows"]),
    retrieve=extend_schema(summary="One run", tags=["outflows"]),
)
class OutflowRunViewSet(ReadOnlyApiViewSet):
    """Runs of the non-return computation (DESIGN section 5)."""

    required_scope = Scope.OUTFLOWS
    serializer_class = serializers.OutflowRunSerializer
    filterset_class = filters.OutflowRunFilter

    def base_queryset(self):
        return OutflowRun.objects.all()


@extend_schema_view(
    list=extend_schema(
        summary="Non-return statistics",
        description="Without `run` and `updated_since`: the rows of the latest finished run.",
        tags=["outflows"],
    ),
)
class OutflowStatViewSet(mixins.ListModelMixin, ApiViewSet):
    """Rows of a run: dimension, key, cohort month and the non-return figures."""

    required_scope = Scope.OUTFLOWS
    serializer_class = serializers.OutflowStatSerializer
    filterset_class = filters.OutflowStatFilter

    def base_queryset(self):
        return stats_for_api()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        params = self.request.query_params
        if not params.get("run") and not params.get("updated_since"):
            queryset = queryset.filter(run_id=latest_finished_run_id())
        return queryset
