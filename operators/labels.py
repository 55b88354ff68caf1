"""Names a reader understands, in the page's language: countries (ISO code -> name, pycountry's Russian
and Belarusian catalogues), choice codes (filing kinds, statuses) -> their labels."""

import gettext as gettext_module
from functools import lru_cache

import pycountry
from django.db import models
from django.utils.translation import get_language


@lru_cache(maxsize=4)
def _country_catalogue(language: str):
    try:
        return gettext_module.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
    except OSError:
        return gettext_module.NullTranslations()


def country_name(code: str | None, language: str | None = None) -> str:
    """'GB' -> 'Соединённое Королевство' (ru), 'Злучанае Каралеўства' (be), 'United Kingdom' (en).
    An unknown code is returned as it is; None/'' as ''."""
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=str(code).upper())
    if country is None:
        return str(code)
    language = (language or get_language() or "ru")[:2]
    if language == "en":
        return getattr(country, "common_name", None) or country.name
    return _country_catalogue(language).gettext(country.name)


def choice_label(choices: type[models.TextChoices], value) -> str:
    """A TextChoices code -> its label in the active language; an unknown code as it is."""
    if value in (None, ""):
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)
