"""What the transfers page asks of the layers above it, without importing them (docs/ARCHITECTURE.md).

``filter sources``: a named source turns a value into the transfers page's filters. The audits
app provides "flag" (AuditsConfig.ready): ``?flag=<id>[&figure=<key>]`` opens the rows of a
flag's figure as its rule selects them (audits.rules.rows), whatever the flag's evidence says
today, so a link to a flag's rows stays right after a rescan.
"""

from collections.abc import Callable

from operators.access import Access

_filter_sources: dict[str, Callable[..., dict | None]] = {}


def provide_filter_source(name: str, function: Callable[..., dict | None]) -> None:
    """``function(access=, value=, figure=)`` -> the transfers page's filters, or None (unknown or not visible)."""
    _filter_sources[name] = function


def filters_from(name: str, *, access: Access, value: str, figure: str = "") -> dict | None:
    source = _filter_sources.get(name)
    return source(access=access, value=value, figure=figure) if source else None
