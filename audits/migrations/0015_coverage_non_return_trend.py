"""Issue 17: the NON_RETURN_TREND rule, and HIGH_NON_RETURN's guardrail parameters.

HIGH_NON_RETURN gains `min_outbound_investors` (distinct investors with a matured outbound at the operator)
and `interval_above_threshold` (flag only when the run's bootstrap interval's lower bound is above the
threshold). They are added with the values that change nothing (0, false) to the rule and to its versions
that lack them, so no published version changes its meaning; supervisors turn them on with a new version.
"""

from django.db import migrations
from django.utils import timezone

CODE = "NON_RETURN_TREND"
FIELDS = {
    "title": "Резкое изменение доли невозврата",
    "explanation": "Доля невозврата когорты оператора изменилась между двумя последними расчётами с тем же окном "
    "больше порога.",
    "title_en": "Sharp change in the non-return share",
    "explanation_en": "An operator's cohort share moved by more than the threshold between the last two runs with "
    "the same window.",
    "title_be": "Рэзкая змена долі невяртання",
    "explanation_be": "Доля невяртання кагорты аператара змянілася паміж двума апошнімі разлікамі з тым жа акном "
    "больш за парог.",
    "severity": "medium",
    "parameters": {"points": "10", "min_outbound_byn": "0", "material_change": 0.2},
    "description": (
        "Compares each operator's cohort (calendar month) share in the latest finished outflow run with the "
        "finished run before it with the same window: a flag per operator and cohort when it moved by more than "
        "`points` percentage points; cohorts with matured outbound value below `min_outbound_byn` in either run "
        "do not count."
    ),
}
GUARDS = {"min_outbound_investors": 0, "interval_above_threshold": False}


def seed(apps, schema_editor):
    Rule = apps.get_model("audits", "Rule")
    rule, _ = Rule.objects.update_or_create(code=CODE, defaults=FIELDS)
    RuleVersion = apps.get_model("audits", "RuleVersion")
    # Its version 1 here (as 0013 made them for the rules before it), not lazily at the first scan.
    RuleVersion.objects.get_or_create(
        rule=rule,
        number=1,
        defaults={
            "parameters": rule.parameters,
            "enabled": rule.enabled,
            "status": "published",
            "note": "Значения до введения версий",
            "published_at": timezone.now(),
        },
    )
    for rule in Rule.objects.filter(code="HIGH_NON_RETURN"):
        rule.parameters = {**GUARDS, **(rule.parameters or {})}
        rule.save(update_fields=["parameters"])
        for version in RuleVersion.objects.filter(rule=rule):
            version.parameters = {**GUARDS, **(version.parameters or {})}
            version.save(update_fields=["parameters"])


def unseed(apps, schema_editor):
    apps.get_model("audits", "Rule").objects.filter(code=CODE).delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0014_seed_sanctioned_counterparty")]
    operations = [migrations.RunPython(seed, unseed)]
