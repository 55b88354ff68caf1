"""Render a flag's evidence readably: labelled rows, with links to the filings, transfers and runs concerned."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audits.evidence_format import evidence_shown
from audits.evidence_labels import key_label, value_label
from audits.rules.rows import rows_of
from operators.labels import country_name
from operators.models import ForeignPlatform
from operators.templatetags.portal import money

register = template.Library()

LABELS = {
    "kind": _("Вид отчёта"),
    "period_start": _("Начало периода"),
    "period_end": _("Конец периода"),
    "due_date": _("Срок подачи"),
    "days_overdue": _("Дней просрочки"),
    "days_late": _("Дней опоздания"),
    "submitted_at": _("Подан"),
    "filing": _("Отчёт"),
    "unaccepted_filings": _("Непринятые попытки"),
    "rejected_filings": _("Отклонённые отчёты"),
    "accepted_later": _("Принятые позже"),
    "accepted_later_at": _("Принят позже"),
    "first_rejected_at": _("Первое отклонение"),
    "resubmission_deadline": _("Срок повторной подачи"),
    "differences": _("Расхождения"),
    "platform": _("Платформа"),
    "country": _("Страна"),
    "list": _("Перечень"),
    "platforms": _("Платформы"),
    "transfer_count": _("Переводов"),
    "value_byn": _("Сумма, BYN"),
    "out_value_byn": _("Выведено, BYN"),
    "in_value_byn": _("Возвращено, BYN"),
    "first_occurred_at": _("Первый перевод"),
    "last_occurred_at": _("Последний перевод"),
    "example_investor_ref": _("Пример инвестора"),
    "htp_certificate_valid_until": _("Свидетельство ПВТ до"),
    "run": _("Расчёт невозврата"),
    "non_return_share": _("Доля невозврата"),
    "threshold": _("Порог"),
}
FILING_LISTS = ("unaccepted_filings", "rejected_filings", "accepted_later")
HIDDEN = ("platform_id", "operator_id", "rows")
# A selector's list (audits.rules.base.rows_selector) -> the page that lists its rows.
LIST_URLS = {
    "transfers": "outflows:transfers",
    "filings": "filings:list",
    "stats": "outflows:stats",
    "drilldown": "outflows:drilldown",
}


def _platform_name(slug) -> str:
    """A platform's display name (its slug when it is not in the registry)."""
    name = ForeignPlatform.objects.filter(slug=slug).values_list("name", flat=True).first() if slug else None
    return name or slug or ""


def _filing_link(pk) -> str:
    return format_html('<a href="{}">#{}</a>', reverse("filings:detail", args=[pk]), pk)


def _transfers_url(flag, **filters) -> str:
    query = {"operator": flag.operator.unp, **{k: v for k, v in filters.items() if v}}
    return f"{reverse('outflows:transfers')}?{urlencode(query)}"


def rows_url(selector) -> str | None:
    """The list page showing exactly the rows a figure counts or sums (its stored selector), or None."""
    if not isinstance(selector, dict) or selector.get("list") not in LIST_URLS:
        return None
    filters = {k: v for k, v in (selector.get("filters") or {}).items() if v not in (None, "")}
    return f"{reverse(LIST_URLS[selector['list']])}?{urlencode(filters)}"


def _figure_link(url: str, key: str, raw, text) -> str:
    """A figure linked to its rows; data-figure/data-value let a reader (or a test) check the list's total."""
    shown = evidence_shown(key, text) if isinstance(text, str | int | float) else text  # raw stays in data-value
    return format_html('<a href="{}" data-figure="{}" data-value="{}">{}</a>', url, key, raw, shown)


def _selected(key, value, selector):
    """The value linked to its rows when the rule stored a selector for it, else None."""
    url = rows_url(selector)
    if url is None or value is None:
        return None
    if key in FILING_LISTS and isinstance(value, list):
        ids = format_html_join(", ", "{}", ((_filing_link(pk),) for pk in value))
        return format_html("{} ({})", ids, _figure_link(url, key, len(value), _("все в списке")))
    if isinstance(value, list | dict):
        return None
    return _figure_link(url, key, value, value)


def _difference(name, diff) -> str:
    """One declared-vs-actual difference; an actual recounted from the transfers links to them."""
    if not isinstance(diff, dict):
        return format_html("{}: {}", key_label(name), diff)
    url = rows_url(diff.get("rows"))
    parts = format_html_join(
        "; ",
        "{}: {}",
        (
            (
                key_label(k),
                _figure_link(url, name, v, v)
                if url and k == "actual" and v is not None
                else value_label(name if k in ("filed", "registry") else k, v) or evidence_shown(name, v),
            )
            for k, v in diff.items()
            if k != "rows"
        ),
    )
    return format_html("{}: {}", key_label(name), parts)


def _rows(flag, evidence) -> dict:
    """The figures' selectors: stored with the evidence, else from its rule (evidence written before them)."""
    code = getattr(getattr(flag, "rule", None), "code", "")
    return rows_of(code, evidence, getattr(getattr(flag, "operator", None), "unp", ""))


def _value(flag, key, value, evidence):
    linked = _selected(key, value, _rows(flag, evidence).get(key))
    if linked is not None:
        return linked
    if key == "differences" and isinstance(value, dict):
        return format_html_join(" | ", "{}", ((_difference(name, diff),) for name, diff in value.items()))
    if key == "filing" and value:
        return _filing_link(value)
    if key in FILING_LISTS and isinstance(value, list):
        return format_html_join(", ", "{}", ((_filing_link(pk),) for pk in value)) if value else "—"
    if key in ("run", "previous_run") and value:
        return format_html('<a href="{}">#{}</a>', reverse("outflows:run", args=[value]), value)
    if key == "platform" and value:
        return format_html('<a href="{}">{}</a>', _transfers_url(flag, platform=value), _platform_name(value))
    if key == "country" and value:
        return format_html('<a href="{}">{}</a>', _transfers_url(flag, country=value), country_name(value))
    if key == "example_investor_ref" and value:
        return format_html('<a href="{}">{}</a>', _transfers_url(flag, investor=value), value)
    if key == "transfer_count":
        url = _transfers_url(
            flag,
            platform=evidence.get("platform"),
            country=evidence.get("country") if "platform" not in evidence else None,
            since=evidence.get("first_occurred_at"),
            until=evidence.get("last_occurred_at"),
        )
        return format_html('<a href="{}">{}</a>', url, evidence_shown(key, value))
    if key == "platforms" and isinstance(value, list):
        return format_html_join(
            "; ",
            '<a href="{}">{}</a>: {} / {}',
            (
                (
                    rows_url(p.get("rows")) or _transfers_url(flag, platform=p.get("platform")),
                    _platform_name(p.get("platform")),
                    _figure_link(url, "platforms.transfer_count", p.get("transfer_count"), p.get("transfer_count"))
                    if (url := rows_url(p.get("rows")))
                    else p.get("transfer_count"),
                    _figure_link(url, "platforms.value_byn", p.get("value_byn"), p.get("value_byn"))
                    if url
                    else money(p.get("value_byn")),
                )
                for p in value
                if isinstance(p, dict)
            ),
        )
    if key == "missing_registers" and isinstance(value, list):  # UNREGISTERED_CLIENT: periods, dd.mm.yyyy
        return ", ".join(
            "–".join(evidence_shown(k, p.get(k)) for k in ("period_start", "period_end"))
            for p in value
            if isinstance(p, dict)
        )
    if isinstance(value, dict):
        return format_html_join(
            "; ", "{}: {}", ((key_label(k), value_label(k, v) or evidence_shown(k, v)) for k, v in value.items())
        )
    if isinstance(value, list):
        return ", ".join(evidence_shown(key, v) for v in value)
    return value_label(key, value) or evidence_shown(key, value)


# The order a reader takes a non-return flag's evidence in: the figure, its interval, then what it is
# computed from. (PostgreSQL's jsonb keeps its keys ordered by length, not as the rule wrote them.)
# Keys not listed follow, in the stored order.
ORDER = (
    "run",
    "as_of",
    "non_return_share",
    "interval_low_share",
    "interval_high_share",
    "confidence_share",
    "bootstrap_resamples",
    "threshold",
    "window_days",
    "outbound_count",
    "outbound_investors",
    "outbound_value_byn",
    "returned_value_byn",
    "unreturned_value_byn",
    "pending_outbound_value_byn",
    "cohort",
    "previous_run",
    "previous_as_of",
    "previous_non_return_share",
    "previous_outbound_value_byn",
    "change_points",
    "points",
)
_RANK = {key: n for n, key in enumerate(ORDER)}


@register.simple_tag
def evidence_rows(flag) -> list[tuple[str, str, str]]:
    """[(label, machine key, rendered value)]: the keys of ORDER first, in its order, then the others."""
    evidence = flag.evidence or {}
    keys = sorted((key for key in evidence if key not in HIDDEN), key=lambda key: _RANK.get(key, len(ORDER)))
    return [(LABELS.get(key) or key_label(key), key, _value(flag, key, evidence[key], evidence)) for key in keys]
