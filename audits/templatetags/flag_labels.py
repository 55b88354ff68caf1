"""Rules, severities, flag statuses and flag subjects by their names in the page's language.

{% load flag_labels %}
{{ flag.rule|rule_title }}  {{ flag.rule|rule_explanation }}  {% rule_label "LATE_FILING" %}
{% flag_subject flag %}  {{ "medium"|severity_label }}  {{ "open"|flag_status_label }}
"""

from django import template

from audits.models import Agency, FlagStatus, Rule, Severity
from audits.subjects import PLATFORM_RULES
from audits.subjects import flag_subject as render_subject
from operators.labels import choice_label
from operators.templatetags.labels import platform_names, request_cached

register = template.Library()


@register.filter
def rule_title(rule) -> str:
    """A Rule's title in the reader's language (Russian when not given)."""
    return rule.label if isinstance(rule, Rule) else str(rule or "")


@register.filter
def rule_explanation(rule) -> str:
    return rule.explained if isinstance(rule, Rule) else ""


def _rules(context) -> dict[str, Rule]:
    return request_cached(context, "_i18n_rules", lambda: {r.code: r for r in Rule.objects.all()})


@register.simple_tag(takes_context=True)
def rule_label(context, code) -> str:
    """A rule code ('LATE_FILING') -> its title in the reader's language (the rules load once per request)."""
    rule = _rules(context).get(code)
    return rule.label if rule is not None else str(code or "")


@register.simple_tag(takes_context=True)
def rule_hint(context, code) -> str:
    """A rule code -> its one-line explanation in the reader's language."""
    rule = _rules(context).get(code)
    return rule.explained if rule is not None else ""


@register.simple_tag(takes_context=True)
def flag_subject(context, flag) -> str:
    """The flag's subject rendered from its evidence in the reader's language (never the stored sentence)."""
    names = platform_names(context) if flag.rule_id and flag.rule.code in PLATFORM_RULES else None
    return render_subject(flag, platform_names=names)


@register.filter
def severity_label(value) -> str:
    return choice_label(Severity, value)


@register.filter
def flag_status_label(value) -> str:
    return choice_label(FlagStatus, value)


@register.filter
def agency_label(value) -> str:
    return choice_label(Agency, value)
