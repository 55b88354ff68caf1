"""`GET /api/v1/exports/{transfers,stats,flags}`: the list endpoints' whole selection as one stream.

Each feed is its list viewset (same token authentication, scope, throttle, visibility and filterset)
with one more action, `export`; the streaming itself is api/feeds.py. Parameters beyond the list's
filters: `format` (csv, the default, or parquet), `until` and `after_id` (to resume a broken
download: api/feeds.py, "Watermark"). Every export is one audit-log event, written when the stream
ends (complete or not) with the rows sent.
"""

from django import forms
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError

from api import views
from api.access import access_of
from api.feeds import FORMATS, csv_stream, feed_for, feed_rows, feed_watermark, parquet_stream
from api.filters import IsoDateTimeField, sent_empty
from api.querysets import transfers_with_codes
from auditlog.services import audit_event_record
from outflows.models import OutflowStat


class FeedParams(forms.Form):
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], required=False)
    until = IsoDateTimeField(required=False)
    after_id = forms.IntegerField(min_value=0, max_value=2**63 - 1, required=False)  # a bigint id

    def clean(self):
        for name in sent_empty(self.data, self.fields):
            self.add_error(name, forms.ValidationError("May not be empty.", code="required"))
        return super().clean()


FEED_PARAMETERS = [
    OpenApiParameter("format", str, enum=list(FORMATS), description="csv (default) or parquet."),
    OpenApiParameter(
        "until",
        OpenApiTypes.DATETIME,
        description="Resume a broken download: the X-Feed-Watermark of the response that broke off.",
    ),
    OpenApiParameter("after_id", int, description="Resume a broken download: the last id received."),
]


class FeedMixin:
    """The `export` action of a list viewset (see the module docstring)."""

    feed_name = ""
    pagination_class = None

    def perform_content_negotiation(self, request, force=False):
        # `format` names the feed's file format here, not one of DRF's renderers; errors stay JSON.
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    def export(self, request, *args, **kwargs):
        params = FeedParams(request.query_params)
        if not params.is_valid():
            raise ValidationError(params.errors)
        file_format = params.cleaned_data["format"] or "csv"
        feed = feed_for(name=self.feed_name, serializer_class=self.get_serializer_class())
        queryset = self.filter_queryset(self.get_queryset())
        watermark = feed_watermark()
        until = params.cleaned_data["until"]
        until = watermark if until is None else min(until, watermark)
        rows = feed_rows(feed=feed, queryset=queryset, until=until, after_id=params.cleaned_data["after_id"])
        counter = [0]
        write = csv_stream if file_format == "csv" else parquet_stream
        stream = self._audited(request, write(feed=feed, rows=rows, counter=counter), counter, until, file_format)
        response = StreamingHttpResponse(stream, content_type=FORMATS[file_format])
        response["X-Feed-Watermark"] = until.isoformat()
        name = f"{self.feed_name}-{until:%Y%m%dT%H%M%S}.{file_format}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def _audited(self, request, stream, counter: list[int], until, file_format: str):
        complete = False
        try:
            yield from stream
            complete = True
        finally:
            audit_event_record(
                actor=request.user,
                action=f"api.export.{self.feed_name}",
                ip=request.META.get("REMOTE_ADDR"),
                details={
                    **access_of(request).label(),
                    "endpoint": request.path,
                    "filters": {k: v[:10] for k, v in request.query_params.lists()},
                    "format": file_format,
                    "watermark": until.isoformat(),
                    "rows": counter[0],
                    "complete": complete,
                },
            )


def _schema(summary: str, tag: str):
    return extend_schema(
        summary=summary,
        tags=[tag],
        filters=True,  # the list's filterset applies
        parameters=FEED_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, FORMATS["parquet"]): OpenApiTypes.BINARY}
        | {403: OpenApiResponse(description="Scope missing.")},
    )


class TransferFeed(FeedMixin, views.TransferViewSet):
    feed_name = "transfers"

    def base_queryset(self):
        return transfers_with_codes()

    @_schema("All selected transfers as one CSV or Parquet stream", "transfers")
    def export(self, request, *args, **kwargs):
        return super().export(request, *args, **kwargs)


class StatFeed(FeedMixin, views.OutflowStatViewSet):
    feed_name = "stats"

    def base_queryset(self):
        return OutflowStat.objects.all()

    @_schema("All selected non-return statistics as one CSV or Parquet stream", "outflows")
    def export(self, request, *args, **kwargs):
        return super().export(request, *args, **kwargs)


class FlagFeed(FeedMixin, views.FlagViewSet):
    feed_name = "flags"

    @_schema("All selected flags as one CSV or Parquet stream", "flags")
    def export(self, request, *args, **kwargs):
        return super().export(request, *args, **kwargs)
