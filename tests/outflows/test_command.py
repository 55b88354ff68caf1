"""manage.py compute_outflows (DESIGN section 10), and the same figures on SQLite (the embedded default)."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command

from outflows.models import OutflowRun
from outflows.services import LOCK_KEY
from tests.conftest import embedded_sqlite_manage
from tests.outflows.factories import BASE, UNP_A, UNP_B, add_transfers, random_transfers, transfer

pytestmark = pytest.mark.django_db
ROW_KEYS = {
    "dimension", "key", "cohort", "outbound_value_byn", "returned_value_byn", "unreturned_value_byn",
    "non_return_share", "pending_outbound_value_byn", "pending_returned_value_byn", "outbound_count",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)


def compute_json(*args: str) -> dict:
    out = StringIO()
    call_command("compute_outflows", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_json_output_has_the_shape_of_section_10():
    add_transfers(
        transfer("OUT", "100", day=0, unp=UNP_A),
        transfer("IN", "60.50", day=59, unp=UNP_B),
        transfer("IN", "50", day=60, unp=UNP_B),
        transfer("OUT", "10", day=990),  # pending at as_of
    )
    payload = compute_json("--as-of", (BASE + dt.timedelta(days=1000)).isoformat(), "--window-days", "365")
    assert set(payload) == {"run", "excess_return_byn", "rows"}
    assert payload["run"] == OutflowRun.objects.get().pk
    assert payload["excess_return_byn"] == "10.50"
    for row in payload["rows"]:
        assert set(row) == ROW_KEYS
        assert isinstance(row["outbound_value_byn"], str)
        assert isinstance(row["outbound_count"], int)
        assert row["non_return_share"] is None or isinstance(row["non_return_share"], float)
    overall = next(r for r in payload["rows"] if (r["dimension"], r["key"], r["cohort"]) == ("overall", "all", "all"))
    assert overall == {
        "dimension": "overall", "key": "all", "cohort": "all",
        "outbound_value_byn": "100.00", "returned_value_byn": "100.00", "unreturned_value_byn": "0.00",
        "non_return_share": 0.0, "pending_outbound_value_byn": "10.00", "pending_returned_value_byn": "0.00",
        "outbound_count": 1,
    }  # fmt: skip
    keys = {(r["dimension"], r["key"], r["cohort"]) for r in payload["rows"]}
    assert {("operator", UNP_A, "2024-01"), ("platform", "alpha", "all"), ("country", "CY", "all")} <= keys
    assert ("operator", UNP_B, "all") not in keys  # B reported only returns
    # Section 10's dimensions only: the cross-tabs (asset, residency, ...) are on the pages and the API.
    assert {dimension for dimension, _key, _cohort in keys} <= {"overall", "operator", "platform", "country"}


def test_share_is_null_when_nothing_matured():
    add_transfers(transfer("OUT", "100", day=0))
    payload = compute_json("--as-of", (BASE + dt.timedelta(days=5)).isoformat())
    assert {r["non_return_share"] for r in payload["rows"]} == {None}


def test_partitions_option_gives_the_same_rows():
    add_transfers(*random_transfers(300))
    as_of = (BASE + dt.timedelta(days=500)).isoformat()
    one, four = compute_json("--as-of", as_of), compute_json("--as-of", as_of, "--partitions", "4")
    assert one["rows"] == four["rows"]
    assert OutflowRun.objects.get(pk=four["run"]).partitions == 4


def test_human_output_and_bad_arguments():
    add_transfers(transfer("OUT", "100", day=0), transfer("IN", "60", day=59))
    out = StringIO()
    call_command("compute_outflows", "--as-of", "2026-01-01T00:00:00Z", stdout=out)
    assert "non-return share 0.4000" in out.getvalue()
    assert "95% bootstrap interval 0.400000 - 0.400000 (200 resamples of 1 investors)" in out.getvalue()
    assert "register coverage: 0.000000 of matured outbound value from fully filed months" in out.getvalue()
    with pytest.raises(CommandError, match="offset"):
        call_command("compute_outflows", "--as-of", "2026-01-01T00:00:00")
    with pytest.raises(CommandError, match="ISO"):
        call_command("compute_outflows", "--as-of", "yesterday")


def test_busy_lock_is_a_clear_error():
    cache.add(LOCK_KEY, "other", timeout=60)
    try:
        with pytest.raises(CommandError, match="another outflow run"):
            call_command("compute_outflows")
    finally:
        cache.delete(LOCK_KEY)


def test_sqlite_embedded_default_gives_the_same_figures(tmp_path):
    """A separate process on a fresh SQLite file (the embedded default) computes the same rows as PostgreSQL."""
    rows = [
        *random_transfers(400, seed=11),
        transfer("OUT", "1.01", at=dt.datetime(2025, 1, 31, 22, 30, tzinfo=dt.UTC)),
    ]
    as_of = (BASE + dt.timedelta(days=600)).isoformat()
    run = embedded_sqlite_manage(tmp_path, rows)
    on_sqlite = json.loads(run("compute_outflows", "--as-of", as_of, "--json"))

    add_transfers(*rows)
    on_postgres = compute_json("--as-of", as_of)
    assert on_sqlite["rows"] == on_postgres["rows"]
    assert on_sqlite["excess_return_byn"] == on_postgres["excess_return_byn"]
    assert len(on_postgres["rows"]) > 50
