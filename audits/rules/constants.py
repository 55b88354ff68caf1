"""What the rules, the shared passes (rules/summary.py) and the reminders agree on."""

from zoneinfo import ZoneInfo

from operators.models import FilingStatus

MINSK = ZoneInfo("Europe/Minsk")
# A filing counts as filed once it was accepted; a superseded filing was accepted
# before a newer one replaced it.
FILED_STATUSES = (FilingStatus.ACCEPTED, FilingStatus.SUPERSEDED)
