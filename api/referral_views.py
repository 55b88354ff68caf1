"""/api/v1/referrals/: referral packages (issue 18 item 5), scope `referrals`.

Who sees which: an agency token the packages of referrals to its own agency (ApiToken.agency; none when
the token names no agency); the SCC (auditors' sessions and tokens) all; operator staff never (their
scopes never include `referrals`). Listing (with `updated_since`: packages written at or after it; a
package never changes) and each download (/api/v1/referrals/files/{id}/) are audit events, like every pull.
"""

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from api.access import AGENCY, AUDITOR, Access
from api.filters import StrictFilterSet, updated_since
from api.models import Scope
from api.views import ApiViewSet, PullAuditDetailMixin, PullAuditMixin, ReadOnlyApiViewSet
from audits.models import Agency
from casework.models import ReferralPackage
from casework.referrals.download import package_response


class ReferralPackageSerializer(serializers.ModelSerializer):
    operator = serializers.SerializerMethodField(help_text="Operator UNP.")
    rule = serializers.SerializerMethodField(help_text="Rule code of the flag (null: an operator's referral).")
    kind = serializers.SerializerMethodField(help_text="flag: one flag referred; operator: a whole operator.")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReferralPackage
        fields = [
            "id",
            "kind",
            "flag",
            "operator",
            "rule",
            "agency",
            "referred_at",
            "created_at",
            "sha256",
            "zip_sha256",
            "size_bytes",
            "members",
            "download_url",
        ]

    def get_kind(self, obj) -> str:
        return "flag" if obj.flag_id is not None else "operator"

    def get_operator(self, obj) -> str:
        return obj.flag.operator.unp if obj.flag_id is not None else obj.operator.unp

    def get_rule(self, obj) -> str | None:
        return obj.flag.rule.code if obj.flag_id is not None else None

    def get_download_url(self, obj) -> str:
        request = self.context.get("request")
        path = f"/api/v1/referrals/files/{obj.pk}/"
        return request.build_absolute_uri(path) if request is not None else path


class ReferralPackageFilter(StrictFilterSet):
    updated_since = updated_since("created_at")
    flag = django_filters.NumberFilter(field_name="flag_id", help_text="Flag id.")
    agency = django_filters.ChoiceFilter(choices=Agency.choices)

    class Meta:
        model = ReferralPackage
        fields = ["updated_since", "flag", "agency"]


def referral_packages_visible(*, access: Access, queryset: QuerySet) -> QuerySet:
    if access.role == AUDITOR:
        return queryset
    if access.role == AGENCY:
        agency = getattr(access.token, "agency", "")
        return queryset.filter(agency=agency) if agency else queryset.none()
    return queryset.none()


@extend_schema_view(
    list=extend_schema(summary="Referral packages referred to the token's agency", tags=["referrals"]),
    retrieve=extend_schema(summary="One referral package (its description)", tags=["referrals"]),
)
class ReferralPackageViewSet(PullAuditDetailMixin, ReadOnlyApiViewSet):
    """The packages of flags referred to the caller's agency (the zip: ReferralPackageFileViewSet)."""

    required_scope = Scope.REFERRALS
    serializer_class = ReferralPackageSerializer
    filterset_class = ReferralPackageFilter
    audit_action = "api.pull.referrals"

    def base_queryset(self):
        return ReferralPackage.objects.select_related("flag__operator", "flag__rule", "operator").defer("content")

    def visible(self, queryset, access):
        return referral_packages_visible(access=access, queryset=queryset)


@extend_schema_view(
    retrieve=extend_schema(
        summary="The package's zip (verify it offline: manage.py verify_referral PACKAGE.zip --sha256 SHA)",
        tags=["referrals"],
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY)},
    )
)
class ReferralPackageFileViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    """/api/v1/referrals/files/{id}/: the zip itself, to the same callers as the listing."""

    required_scope = Scope.REFERRALS
    serializer_class = ReferralPackageSerializer
    audit_action = "api.download.referrals"

    def base_queryset(self):
        return ReferralPackage.objects.all()

    def visible(self, queryset, access):
        return referral_packages_visible(access=access, queryset=queryset)

    def retrieve(self, request, *args, **kwargs):
        package = self.get_object()
        PullAuditMixin._audit(self, request, 1)  # the pulls' one audit record (no list route here)
        return package_response(package)  # no-store, as the middleware marks every API answer
