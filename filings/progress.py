"""Where an intake's progress is kept so that the page's status requests can read it (issue 16, item 4).

The import runs in one transaction (in the worker, or inside the web request on the
embedded default), so its progress goes to the cache, written at once and read by any
other request or process (Redis; the embedded default's runserver shares one process).
Two kinds of entry:

- ``filing:<pk>``: a stored filing's processing (filings/processing.py), for its page;
- ``upload:<token>``: one upload form's request (the form carries a random token): a dry run's
  progress, or, once the upload is stored, the filing it became. Bound to the user who sent it.

Progress is best-effort: a cache outage is logged and the intake carries on.
"""

import logging

from django.core.cache import cache

from config.errors import REDIS_ERRORS
from operators.tabular.progress import Progress

logger = logging.getLogger(__name__)

PREFIX = "filings:progress:"
TIMEOUT_SECONDS = 3 * 3600
QUEUED, SENDING, DONE = "queued", "sending", "done"


def filing_key(filing_id: int) -> str:
    return f"filing:{filing_id}"


def upload_key(token: str) -> str:
    return f"upload:{token}"


def progress_put(*, key: str, data: dict) -> None:
    try:
        cache.set(PREFIX + key, data, TIMEOUT_SECONDS)
    except REDIS_ERRORS:
        logger.warning("progress %s not recorded: the cache is unavailable", key)


def progress_get(*, key: str) -> dict | None:
    try:
        return cache.get(PREFIX + key)
    except REDIS_ERRORS:
        logger.warning("progress %s not read: the cache is unavailable", key)
        return None


def filing_progress(*, filing_id: int) -> Progress:
    """The Progress a filing's processing advances."""
    key = filing_key(filing_id)
    return Progress(lambda snapshot: progress_put(key=key, data=snapshot))


def upload_progress(*, token: str, user_id: int) -> Progress:
    """The Progress a dry run advances, under its form's token, for ``user_id`` only."""
    key = upload_key(token)
    return Progress(lambda snapshot: progress_put(key=key, data={**snapshot, "user": user_id}))


def upload_stored(*, token: str, user_id: int, filing_id: int) -> None:
    """The upload became filing ``filing_id``: its form's status now follows the filing."""
    progress_put(key=upload_key(token), data={"phase": QUEUED, "user": user_id, "filing": filing_id})


def upload_done(*, token: str, user_id: int, url: str) -> None:
    """A dry run is over: the form's page may go to ``url`` (the check's result)."""
    progress_put(key=upload_key(token), data={"phase": DONE, "user": user_id, "url": url})
