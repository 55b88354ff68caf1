# The transfer lists' indexes (issue 16, item 3). Every index costs the intake on each row, a
# random-order btree about as much as the row itself (bench/README_ingest.md), so one btree only:
# - a btree on (occurred_at, id): the list's order, keyset pages, periods;
# and, on PostgreSQL, two BRIN indexes (a few bytes per range of 32 pages, summarised as the intake
# fills ranges: autosummarize), nearly free to keep:
# - (operator_id, occurred_at): a register is one operator's rows of one period, loaded by one COPY,
#   so each range holds one operator and one period: an operator's rows in a period (what a flag's
#   evidence links to) are found, and counted exactly, by reading just those ranges;
# - investor_ref as a bloom filter per range: an investor's rows are in the few ranges whose filter
#   says so (one in a thousand answers yes wrongly).
# Elsewhere (the embedded SQLite default) investor_ref gets a plain index. The operator, platform
# and country filters read the (occurred_at, id) order keeping the matching rows
# (bench/README_pages.md). On a fresh database (tests, a new install) the table is empty and they
# cost nothing to build; on a loaded one CREATE INDEX reads the table once.

from django.db import migrations, models

TABLE = "outflows_crossbordertransfer"
BRIN = {
    "transfer_operator_time_brin": "(operator_id, occurred_at)",
    # About 2 000 rows to a range of 32 pages, nearly all of different investors.
    "transfer_investor_idx": "(investor_ref text_bloom_ops(n_distinct_per_range = 2000, false_positive_rate = 0.001))",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"CREATE INDEX transfer_investor_idx ON {TABLE} (investor_ref)")
        return
    for name, columns in BRIN.items():
        schema_editor.execute(
            f"CREATE INDEX {name} ON {TABLE} USING brin {columns} WITH (pages_per_range = 32, autosummarize = on)"
        )


def drop_indexes(apps, schema_editor):
    for name in BRIN:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("outflows", "0005_transfer_changes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["occurred_at", "id"], name="transfer_occurred_idx"),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
