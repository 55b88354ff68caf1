"""Ids from query strings and paths: one check for every page and endpoint.

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads; an id is ASCII
digits only, and no longer than a bigint holds.
"""

MAX_ID_DIGITS = 18  # below PostgreSQL's bigint maximum (9 223 372 036 854 775 807)


def id_param(value: str | None) -> int | None:
    """`value` as an id if it is 1-18 ASCII digits, else None."""
    if value and len(value) <= MAX_ID_DIGITS and value.isascii() and value.isdigit():
        return int(value)
    return None
