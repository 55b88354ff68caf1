"""The API's shortcuts through private internals, each behind this one switch (settings.API_FAST_PATHS).

A shortcut is kept only while bench/api.py shows it gains more than 10 % against its standard path
in the same run (bench/README_api.md, "Private-internals shortcuts, measured"), and a test pins its
output to the standard path's. False (or API_FAST_PATHS_OFF=name) runs Django's / DRF's own way.
"""

from django.conf import settings


def enabled(name: str) -> bool:
    """Whether the shortcut `name` is on. Read per call, so a settings override applies at once."""
    return settings.API_FAST_PATHS.get(name, True)
