"""GET /api/v1/outflows/drilldown/: the outbounds of one stat cell with what came back to each (issue 17 item 1).

Scope `outflows`, read the way the other outflow endpoints are (agencies and the SCC; operator staff
never hold the scope). The cell is named by `run` (latest finished without it), `dimension`, `key`,
`cohort` ("all" by default) and `state` ("matured", "pending" or both); the rows come in cursor
pages by id, each with its allocation recomputed for the pairs of the page (outflows.drilldown),
beside the stored figures of the cell and whether the run's inputs changed since. A run that recorded
its registers lists the rows it read (`inputs.as_read`: its registers were superseded or others accepted
since; rows kept in the archive say `archived`), so the listed amounts are the run's.
Every pull is in the audit log, as a pull of transfers is.
"""

from decimal import Decimal

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.exceptions import NotFound, ValidationError

from api.access import access_of
from api.models import Scope
from api.views import ApiViewSet, PullAuditMixin
from config.params import id_param
from outflows import cells, drilldown
from outflows.engine import CURVE_DAYS
from outflows.models import CrossBorderTransfer, OutflowRun
from outflows.selectors import STAT_FIELDS, outflow_run_get, transfers_visible

STATES = ("", "matured", "pending")


def _byn(kopecks: int) -> str:
    return str(Decimal(int(kopecks)).scaleb(-2))


class DrilldownTransferSerializer(serializers.Serializer):
    """One outbound of the cell and its allocation in the run (money as decimal strings, BYN)."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    operator = serializers.CharField(help_text="UNP of the reporting operator.")
    occurred_at = serializers.DateTimeField()
    investor_ref = serializers.CharField()
    platform = serializers.CharField(help_text="Slug of the foreign platform.")
    country = serializers.CharField()
    value_byn = serializers.CharField()
    returned_value_byn = serializers.CharField(help_text="What came back to this outbound (FIFO per pair).")
    unreturned_value_byn = serializers.CharField()
    returned_30d_byn = serializers.CharField(help_text="Of returned_value_byn, what came back within 30 days.")
    returned_90d_byn = serializers.CharField(help_text="Of returned_value_byn, what came back within 90 days.")
    returned_180d_byn = serializers.CharField(help_text="Of returned_value_byn, what came back within 180 days.")
    returned_365d_byn = serializers.CharField(help_text="Of returned_value_byn, what came back within 365 days.")
    matured = serializers.BooleanField(help_text="occurred_at + window <= as_of: counted in the share.")
    window_closes_at = serializers.DateTimeField(help_text="Returns after this instant are never credited to it.")
    archived = serializers.BooleanField(
        help_text="A row of a register superseded since the run (kept in the archive): listed as the run read it."
    )

    def to_representation(self, instance):
        transfer, allocation = instance
        return super().to_representation(
            {
                "id": transfer.pk,
                "external_id": transfer.external_id,
                "operator": transfer.operator.unp,
                "occurred_at": transfer.occurred_at,
                "investor_ref": transfer.investor_ref,
                "platform": transfer.platform.slug,
                "country": transfer.platform.country,
                "value_byn": _byn(allocation.value),
                "returned_value_byn": _byn(allocation.returned),
                "unreturned_value_byn": _byn(allocation.unreturned),
                **{
                    f"returned_{days}d_byn": _byn(amount)
                    for days, amount in zip(CURVE_DAYS, allocation.returned_within, strict=True)
                },
                "matured": allocation.matured,
                "window_closes_at": allocation.window_closes,
                "archived": getattr(transfer, "archived", False),
            }
        )


def _stat_json(stat) -> dict | None:
    """The stored row as the stats endpoint gives it: money as decimal strings, the share a number."""
    if stat is None:
        return None
    found = {name: getattr(stat, name) for name in STAT_FIELDS}
    for name, value in found.items():
        if isinstance(value, Decimal):
            found[name] = float(value) if name == "non_return_share" else str(value)
    return found


PARAMETERS = [
    OpenApiParameter("run", int, description="A finished run (default: the latest)."),
    OpenApiParameter(
        "dimension", str, description="overall (default), operator, platform, country, operator_platform, ..."
    ),
    OpenApiParameter("key", str, description='The key in the dimension ("all" for overall).'),
    OpenApiParameter("cohort", str, description='"YYYY-MM" or "all" (default).'),
    OpenApiParameter("state", str, enum=["matured", "pending"], description="Only these outbounds (default both)."),
    OpenApiParameter(
        "updated_since", str, description="ISO date-time: only the cell's outbounds written at or after it."
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="The outbounds of one non-return cell, each with its returned and unreturned amount",
        parameters=PARAMETERS,
        tags=["outflows"],
    )
)
class OutflowDrilldownViewSet(PullAuditMixin, mixins.ListModelMixin, ApiViewSet):
    required_scope = Scope.OUTFLOWS
    serializer_class = DrilldownTransferSerializer
    filter_backends = []
    audit_action = "api.pull.outflow_drilldown"

    def _cell(self) -> dict:
        params = self.request.query_params
        dimension = params.get("dimension", "") or "overall"
        key = params.get("key", "")[:64] or ("all" if dimension == "overall" else "")
        cohort, state, run_id = params.get("cohort", "")[:7] or "all", params.get("state", ""), params.get("run", "")
        errors = {}
        if not cells.dimension_known(dimension):
            errors["dimension"] = [f"One of: {', '.join(sorted(cells.DIMENSION_FILTERS))}."]
        if not key or "\x00" in key:
            errors["key"] = ["Required for this dimension (text without NUL)."]
        if state not in STATES:
            errors["state"] = ["matured, pending or empty."]
        if run_id and id_param(run_id) is None:
            errors["run"] = ["A run id."]
        try:
            cells.cohort_bounds(cohort)
        except ValueError:
            errors["cohort"] = ['"YYYY-MM" or "all".']
        updated_since = None
        if params.get("updated_since"):
            try:
                updated_since = parse_datetime(params["updated_since"][:64])
            except ValueError:  # well formed, impossible (month 13)
                updated_since = None
            if updated_since is None or updated_since.tzinfo is None:
                errors["updated_since"] = ["An ISO date-time with its offset."]
        if errors:
            raise ValidationError(errors)
        self.updated_since = updated_since
        try:
            run = outflow_run_get(run=id_param(run_id))
        except OutflowRun.DoesNotExist as exc:
            raise NotFound("No finished run with this id.") from exc
        if run is None:
            raise NotFound("No finished run yet.")
        return {"run": run, "dimension": dimension, "key": key, "cohort": cohort, "state": state}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return CrossBorderTransfer.objects.none()
        self.cell = self._cell()
        self.check = drilldown.inputs_check(self.cell["run"])
        self.source = drilldown.cell_source(self.cell["run"], self.check)
        outbounds = cells.cell_outbounds(**self.cell, source=self.source).select_related("operator", "platform")
        if self.updated_since is not None:
            outbounds = outbounds.filter(updated_at__gte=self.updated_since)
        stat = drilldown.stat_of(**{k: v for k, v in self.cell.items() if k != "state"})
        sparse = drilldown.sparse_order(
            run=self.cell["run"], stat=stat, outbounds=outbounds, page_size=self.paginator.get_page_size(self.request),
            name={**self.cell, "run": self.cell["run"].pk, "updated_since": self.updated_since,
                  "as_read": self.source.as_read},
        )  # fmt: skip
        if sparse is not None:  # a few rows among millions: by their ids (pages in id order)
            outbounds = outbounds.filter(pk__in=sparse)
        return transfers_visible(access=access_of(self.request), queryset=outbounds)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        cell = self.cell
        rows = drilldown.allocate(cell["run"], page, source=self.source)
        response = self.get_paginated_response(self.get_serializer(rows, many=True).data)
        stat = drilldown.stat_of(run=cell["run"], dimension=cell["dimension"], key=cell["key"], cohort=cell["cohort"])
        check = self.check
        response.data = {
            "run": cell["run"].pk,
            "as_of": cell["run"].as_of,
            "window_days": cell["run"].window_days,
            "cell": _stat_json(stat),
            "inputs_changed": check.changed,
            # The transfer registers accepted / superseded since the run and an edited registry; as_read: the
            # rows listed are those the run read (its registers' rows, live or archived, keyed by its registry).
            # page_touched (whether this page's amounts may differ from the run's) stays for older clients:
            # false, since a run that recorded its registers is listed as it read them.
            "inputs": {
                "filings_added": list(check.filings_added),
                "filings_gone": list(check.filings_gone),
                "registry_changed": check.registry_changed,
                "as_read": self.source.as_read,
                "page_touched": False,
            },
            **response.data,
        }
        self._audit(request, len(rows))
        return response
