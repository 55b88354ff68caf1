"""Names instead of codes on the pages, in the page's language: countries, platforms, filing kinds and
statuses, audit events, operators with their UNP.

    {% load labels %}
    {{ "GB"|country }}  {{ filing.kind|filing_kind }}  {{ event.action|event_label }}
    {% platform_label "exmo" %}  {% operator_label operator %}
"""

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html
from django.utils.translation import gettext

from auditlog.labels import event_label as _event_label
from operators.labels import choice_label, country_name
from operators.models import (
    Activity,
    FilingKind,
    FilingStatus,
    ForeignPlatform,
    KycLevel,
    Operator,
    OperatorStatus,
    RegistrationFiling,
)
from operators.tabular.errors import message_in_language

register = template.Library()


@register.filter
def country(code) -> str:
    """'GB' -> 'Соединённое Королевство' (ru) / 'United Kingdom' (en) / 'Злучанае Каралеўства' (be)."""
    return country_name(code)


@register.filter
def filing_kind(value) -> str:
    return choice_label(FilingKind, value)


@register.filter
def filing_status(value) -> str:
    return choice_label(FilingStatus, value)


@register.filter
def operator_status(value) -> str:
    return choice_label(OperatorStatus, value)


@register.filter
def activity(value) -> str:
    return choice_label(Activity, value)


@register.filter
def event_label(action) -> str:
    """'flag.opened' -> 'Нарушение открыто'."""
    return _event_label(action)


def request_cached(context, name: str, load):
    """`load()` once per request (kept on the request; without one, on this render), e.g. a name map."""
    request = context.get("request")
    if request is None:
        if name not in context.render_context:
            context.render_context[name] = load()
        return context.render_context[name]
    if not hasattr(request, name):
        setattr(request, name, load())
    return getattr(request, name)


def platform_names(context) -> dict[str, str]:
    """slug -> display name of every platform (one query per request)."""
    return request_cached(
        context, "_i18n_platform_names", lambda: dict(ForeignPlatform.objects.values_list("slug", "name"))
    )


@register.simple_tag(takes_context=True)
def platform_label(context, slug) -> str:
    """A platform's display name from its slug (the slug itself for one not in the registry)."""
    if not slug:
        return ""
    return platform_names(context).get(slug, slug)


@register.simple_tag
def operator_label(operator) -> str:
    """'ООО «Крипто» <span class="mono muted">УНП 190000001</span>' (escaped)."""
    if operator is None:
        return ""
    return format_html('{} <span class="mono muted">{}</span>', operator.name, operator.unp)


def operator_names(context) -> dict[str, str]:
    """UNP -> operator name (one query per request)."""
    return request_cached(context, "_i18n_operator_names", lambda: dict(Operator.objects.values_list("unp", "name")))


@register.simple_tag(takes_context=True)
def stat_key(context, dimension, key) -> str:
    """An outflow statistic's key by name: an operator with its UNP, a platform, a country, 'Всего'."""
    if dimension == "operator":
        name = operator_names(context).get(key)
        return format_html('{} <span class="mono muted">{}</span>', name, key) if name else key
    if dimension == "platform":
        return platform_label(context, key)
    if dimension == "country":
        return country_name(key)
    if dimension == "overall":
        return gettext("Всего")
    # Issue 17 cross-tabs (outflows/variant_summary.py): "UNP:slug", "UNP:CC", residency, KYC; "-": no register
    if dimension in ("operator_platform", "operator_country"):
        unp, _, other = key.partition(":")
        left = stat_key(context, "operator", unp)
        right = platform_label(context, other) if dimension == "operator_platform" else country_name(other)
        return format_html("{} × {}", left, right)
    if key == "-" and dimension in ("residency", "kyc"):
        return gettext("нет в реестре клиентов")
    if dimension == "residency":
        return country_name(key)
    if dimension == "kyc":
        return str(dict(KycLevel.choices).get(key, key))
    return key


@register.filter
def cohort_label(cohort) -> str:
    """A cohort month '2025-03' as it is; 'all' -> 'все когорты'."""
    return gettext("все когорты") if cohort == "all" else cohort


@register.filter
def error_message(error) -> str:
    """A filing error's (or warning's) message in the page's language: a known code's Russian text through
    the catalogue, else the stored Russian (English on English pages) message. Takes a FilingError,
    a RowError or a dict with code / message_ru / message_en."""
    get = error.get if isinstance(error, dict) else lambda name, default="": getattr(error, name, default)
    text = message_in_language(
        code=get("code", ""), russian=get("message_ru", "") or "", english=get("message_en", "") or ""
    )
    return text or get("message", "")


@register.filter
def filing_field(name) -> str:
    """A filing's field name ('declared_rows') -> its label ('заявлено строк')."""
    try:
        return str(RegistrationFiling._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return str(name or "")
