"""The transfer table keeps only the indexes that earn their place (bench/README_ingest.md)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def transfer_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'outflows_crossbordertransfer'::regclass"
        )
        return dict(cursor.fetchall())


def index_columns(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(%s::regclass)", [name])
        return cursor.fetchone()[0].split("USING ", 1)[1]


def test_the_load_order_columns_share_one_brin_and_nothing_else_is_indexed_per_row():
    indexes = transfer_indexes()
    # filing, updated_at, operator and occurred_at follow the load order: one BRIN for the four
    # (migration 0014; one summary lookup per row instead of three).
    assert indexes.pop("transfer_load_brin") == "brin"
    assert index_columns("transfer_load_brin").startswith("brin (filing_id, updated_at, operator_id, occurred_at)")
    # The lists' (issue 16: one btree for the keyset order, BRIN for an operator's periods and an
    # investor's rows; their cost on the intake measured in bench/README_ingest.md), the primary key
    # and the unique (operator, external_id).
    assert indexes.pop("transfer_occurred_idx") == "btree"
    assert indexes.pop("transfer_investor_idx") == "brin"
    assert sorted(indexes.values()) == ["btree", "btree"]
    assert "transfer_external_id_unique" in indexes


def test_supersession_and_incremental_pulls_can_use_them():
    with connection.cursor() as cursor:
        # A tiny test table: rule out the scans that need no index, so that the plan shows
        # whether these indexes can serve the predicate (else it falls back to a seq scan).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN DELETE FROM outflows_crossbordertransfer WHERE filing_id = 1")
        delete_plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN SELECT id FROM outflows_crossbordertransfer WHERE updated_at >= now()")
        pull_plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "transfer_load_brin" in delete_plan
    assert "transfer_load_brin" in pull_plan
