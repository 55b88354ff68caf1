"""django-import-export resource for the operator registry (DESIGN section 3).

One resource serves the admin's import/export buttons and `manage.py import_operators`.
"""

from collections import Counter

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from operators.models import Operator, OperatorStatusChange

REGISTRY_REQUIRED_COLUMNS = ("unp", "name", "htp_certificate_no", "htp_certificate_valid_until", "activity", "status")
REGISTRY_OPTIONAL_COLUMNS = ("htp_registered_on",)


def registry_header_problems(headers: list[str]) -> list[str]:
    """Messages for missing or unknown columns (exact names, order free)."""
    present = [h.strip() if h else "" for h in headers]
    missing = [c for c in REGISTRY_REQUIRED_COLUMNS if c not in present]
    unknown = [h for h in present if h not in REGISTRY_REQUIRED_COLUMNS + REGISTRY_OPTIONAL_COLUMNS]
    problems = []
    if missing:
        problems.append(f"нет столбцов: {', '.join(missing)} / missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"лишние столбцы: {', '.join(unknown)} / unknown columns: {', '.join(unknown)}")
    return problems


def registry_duplicate_unps(unps: list[str]) -> set[str]:
    counts = Counter((u or "").strip() for u in unps)
    return {u for u, n in counts.items() if n > 1 and u}


class OperatorResource(resources.ModelResource):
    unp = fields.Field(attribute="unp", column_name="unp", widget=widgets.CharWidget())
    htp_certificate_valid_until = fields.Field(
        attribute="htp_certificate_valid_until",
        column_name="htp_certificate_valid_until",
        widget=widgets.DateWidget(format="%Y-%m-%d"),
    )
    htp_registered_on = fields.Field(
        attribute="htp_registered_on", column_name="htp_registered_on", widget=widgets.DateWidget(format="%Y-%m-%d")
    )

    class Meta:
        model = Operator
        import_id_fields = ("unp",)
        fields = REGISTRY_REQUIRED_COLUMNS + REGISTRY_OPTIONAL_COLUMNS
        export_order = fields
        clean_model_instances = True  # runs the model validators: UNP checksum, choices
        skip_unchanged = True
        report_skipped = False

    def __init__(self, *, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self._status_before: dict[str, str] = {}

    def before_import(self, dataset, **kwargs):
        problems = registry_header_problems(dataset.headers or [])
        if problems:
            raise ValidationError(problems)
        duplicates = registry_duplicate_unps(dataset["unp"])
        if duplicates:
            raise ValidationError(f"повторяющиеся УНП / duplicate UNPs: {', '.join(sorted(duplicates))}")
        # One query for the current statuses, so status history needs no query per row.
        unps = [(u or "").strip() for u in dataset["unp"]]
        self._status_before = dict(Operator.objects.filter(unp__in=unps).values_list("unp", "status"))

    def before_import_row(self, row, **kwargs):
        for key in ("unp", "activity", "status"):
            if isinstance(row.get(key), str):
                row[key] = row[key].strip()

    def after_save_instance(self, instance, row, **kwargs):
        if kwargs.get("dry_run"):
            return
        before = self._status_before.get(instance.unp, "")
        if before != instance.status:
            OperatorStatusChange.objects.create(
                operator=instance,
                from_status=before,
                to_status=instance.status,
                changed_by=self.user if getattr(self.user, "pk", None) else None,
                reason="Импорт реестра",
            )
