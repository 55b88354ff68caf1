"""The total of a list page for templates/pagination.html: a keyset page carries its own
(config.paging.list_total), a numbered page (Django's Paginator) its paginator's exact count."""

from django import template

from config.paging import Total

register = template.Library()


@register.simple_tag
def list_total(page) -> Total:
    total = getattr(page, "total", None)
    if isinstance(total, Total):
        return total
    return Total(page.paginator.count, exact=True)
