"""The variants of a run's share beside the canonical one, and the excess return apart (issue 17 items 2, 3).

`{% run_variants run %}` on the dashboard (overall figures, one sentence each), `{% run_variants run full=True %}`
on the run page (also per operator, and the excess by platform, country and operator);
`{% stat_excess run stat %}` the excess return of a statistics row's key. Reads only the run's stored
`variants` record (outflows.variant_summary) and, for names, the operators.
"""

from decimal import Decimal

from django import template
from django.utils.translation import gettext_lazy as _

from operators.models import Operator
from operators.templatetags.portal import number

register = template.Library()

VARIANTS = (
    (
        "canonical",
        _("Каноническая"),
        _(
            "Возврат засчитывается только с той платформы, на которую ушли средства, по стоимости в BYN: "
            "официальный показатель."
        ),
    ),
    (
        "investor_level",
        _("По инвестору"),
        _(
            "Возврат с любой зарубежной платформы гасит самый ранний открытый вывод инвестора: "
            "перевод между платформами не считается невозвратом."
        ),
    ),
    (
        "unit_based",
        _("По единицам актива"),
        _(
            "Возвращённые единицы актива на той же платформе засчитываются по стоимости при выводе: "
            "изменение цены не считается невозвратом."
        ),
    ),
)
EXCESS_DIMENSIONS = ("operator", "platform", "country")


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


@register.inclusion_tag("outflows/_run_variants.html")
def run_variants(run, full: bool = False) -> dict:
    record = (run.variants if run is not None else None) or {}
    columns = []
    for code, label, sentence in VARIANTS:
        figure = (record.get(code) or {}).get("overall")
        columns.append(
            {
                "code": code,
                "label": label,
                "sentence": sentence,
                "share": _decimal(figure["share"]) if figure else None,
                "outbound": _decimal(figure["outbound"]) if figure else None,
                "returned": _decimal(figure["returned"]) if figure else None,
                "computed": figure is not None,
            }
        )
    unit = record.get("unit_based") or {}
    context = {
        "run": run,
        "record": bool(record),
        "columns": columns,
        "price_effect": _decimal(unit.get("price_effect")),
        "full": full,
    }
    if full and record:
        operators = sorted((record.get("canonical") or {}).get("operator") or {})
        names = dict(Operator.objects.filter(unp__in=operators).values_list("unp", "name"))
        investor = (record.get("investor_level") or {}).get("operator") or {}
        by_unit = unit.get("operator") or {}
        context["operators"] = [
            {
                "unp": unp,
                "name": names.get(unp, unp),
                "canonical": _decimal(record["canonical"]["operator"][unp]["share"]),
                "investor_level": _decimal((investor.get(unp) or {}).get("share")),
                "unit_based": _decimal((by_unit.get(unp) or {}).get("share")),
                "price_effect": _decimal((by_unit.get(unp) or {}).get("price_effect")),
            }
            for unp in operators
        ]
        excess = record.get("excess") or {}
        context["excess"] = [
            (dimension, sorted(((k, Decimal(v)) for k, v in (excess.get(dimension) or {}).items()),
                               key=lambda kv: -kv[1])[:10])
            for dimension in EXCESS_DIMENSIONS
        ]  # fmt: skip
    return context


@register.simple_tag
def stat_excess(run, stat) -> Decimal | None:
    """The excess return of a stat row's key (operator, platform or country; cohort "all"), or None."""
    if run is None or stat is None or stat.cohort != "all" or stat.dimension not in EXCESS_DIMENSIONS:
        return None
    value = ((run.variants or {}).get("excess") or {}).get(stat.dimension, {}).get(stat.key)
    return Decimal(value) if value is not None else Decimal(0) if run.variants else None


@register.filter
def points(value) -> str:
    """A difference of shares in percentage points: 0.3 -> '+30,0 п. п.' (the portal's number format)."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    text = number(abs(amount) * 100, 1)
    sign = "+" if amount > 0 else ("−" if amount < 0 else "")
    return f"{sign}{text}\u00a0{_('п. п.')}"
