"""Validators for registry identifiers, backed by the well-kept libraries."""

import pycountry
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.by import unp as stdnum_unp
from stdnum.exceptions import ValidationError as StdnumError


def validate_unp(value: str) -> None:
    """A Belarus taxpayer number (УНП): 9 characters with a valid check digit."""
    try:
        stdnum_unp.validate(value)
    except StdnumError as exc:
        raise ValidationError(_("Неверный УНП «%(value)s»"), code="invalid_unp", params={"value": value}) from exc
    if not value.isdigit():
        raise ValidationError(_("УНП должен состоять из 9 цифр"), code="invalid_unp")


def is_country_code(value: str) -> bool:
    return len(value) == 2 and value.isupper() and pycountry.countries.get(alpha_2=value) is not None


def validate_country_code(value: str) -> None:
    """ISO 3166-1 alpha-2, upper case."""
    if not is_country_code(value):
        raise ValidationError(
            _("Неизвестный код страны «%(value)s»"),
            code="invalid_country",
            params={"value": value},
        )
