"""What the rules, the shared passes (rules/summary.py) and the reminders agree on."""

from zoneinfo import ZoneInfo

# A filing counts as filed once it was accepted (or superseded later): defined once, beside the
# transfer conditions that need it too.
from outflows.conditions import FILED_STATUSES

MINSK = ZoneInfo("Europe/Minsk")
__all__ = ["FILED_STATUSES", "MINSK"]
