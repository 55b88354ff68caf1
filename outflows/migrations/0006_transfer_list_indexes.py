# The transfer lists' indexes (issue 16, item 3). Every index costs the intake on each row; a
# random-order btree about as much as the row itself (bench/README_ingest.md), so only:
# - a btree on (occurred_at, id): the list's order, keyset pages, periods;
# - investor_ref: a hash index on PostgreSQL (equality only; cheaper to keep than a btree on random
#   text), a plain one elsewhere;
# - PostgreSQL: one BRIN on (operator_id, occurred_at), 32 pages a range, summarised as the intake
#   fills ranges (autosummarize). A register is one operator's rows of one period, loaded by one
#   COPY, so each range holds one operator and one period: an operator's rows in a period (what a
#   flag's evidence links to) are found, and counted exactly, by reading just those ranges, for a
#   few bytes per range instead of an entry per row.
# The operator, platform and country filters read the (occurred_at, id) order keeping the matching
# rows (bench/README_pages.md). On a fresh database (tests, a new install) the table is empty and
# they cost nothing to build; on a loaded one CREATE INDEX reads the table once.

from django.db import migrations, models


def create_indexes(apps, schema_editor):
    table = "outflows_crossbordertransfer"
    postgresql = schema_editor.connection.vendor == "postgresql"
    using = "USING hash " if postgresql else ""
    schema_editor.execute(f"CREATE INDEX transfer_investor_idx ON {table} {using}(investor_ref)")
    if postgresql:
        schema_editor.execute(
            f"CREATE INDEX transfer_operator_time_brin ON {table} USING brin (operator_id, occurred_at)"
            " WITH (pages_per_range = 32, autosummarize = on)"
        )


def drop_indexes(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS transfer_investor_idx")
    schema_editor.execute("DROP INDEX IF EXISTS transfer_operator_time_brin")


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
