"""The demo's screening: a small OpenSanctions-style list (screening/demo/) in which garantex is
listed, imported and screened, so the review page has a hit waiting for an SCC reviewer."""

from pathlib import Path

from screening.imports import list_import_file
from screening.services import screen_run

DEMO_LIST = Path(__file__).resolve().parent / "demo" / "opensanctions-demo.ftm.jsonl"


def demo_screening() -> str:
    """Import the demo list and screen; returns the command's output line."""
    result = list_import_file(path=DEMO_LIST, format="ftm", list_name="OpenSanctions (demo)", source=DEMO_LIST.name)
    screened = screen_run()
    return (
        f"Screening: list '{result.list_import.list_name}' ({result.list_import.entry_count} entries), "
        f"{len(screened['hits'])} hits to review at /screening/."
    )
