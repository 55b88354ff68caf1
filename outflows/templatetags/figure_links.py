"""Links from a published figure to the transfers it is made of (outflows.figures)."""

from django import template

from outflows import drill_views, figures

register = template.Library()


@register.simple_tag
def stat_transfers_url(run, stat, pending: bool = False) -> str:
    """{% stat_transfers_url run stat %}: the matured outbounds a stat row counts (pending=True: the pending ones)."""
    if run is None or stat is None:
        return ""
    return figures.stat_transfers_url(run, stat, pending=bool(pending))


@register.simple_tag
def transfers_url(**filters) -> str:
    """{% transfers_url operator=unp platform=slug direction="OUT" %}: the transfers page with these filters."""
    return figures.transfers_url(filters)


@register.simple_tag
def run_input_url(run) -> str:
    """{% run_input_url run %}: the transfers the run read."""
    return figures.run_input_url(run) if run is not None else ""


@register.simple_tag
def cell_url(run, stat=None, dimension: str = "", key: str = "", cohort: str = "all", state: str = "") -> str:
    """{% cell_url run stat %} or {% cell_url run dimension="operator" key=unp cohort="2025-03" %}: the
    drill-down page of a stat cell (its outbounds with what came back to each, outflows.drill_views)."""
    if run is None:
        return ""
    if stat is not None:
        dimension, key, cohort = stat.dimension, stat.key, stat.cohort
    return drill_views.drilldown_url(run=run, dimension=dimension, key=key, cohort=cohort, state=state)
