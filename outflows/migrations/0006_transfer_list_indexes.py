# The transfer lists' indexes (issue 16, item 3): keyset pages and periods on (occurred_at, id), and
# an investor's rows. Every index costs the intake on each row (a random-order btree about as much
# as the row itself, bench/README_ingest.md), so only these two: the operator, platform and country
# filters read the (occurred_at, id) order and keep the rows that match (bench/README_pages.md).
# investor_ref gets a hash index on PostgreSQL (equality only; cheaper to maintain than a btree on
# random text), a plain one elsewhere. On a fresh database (tests, a new install) the table is empty
# and they cost nothing to build; on a loaded one CREATE INDEX reads the table once.

from django.db import migrations, models


def create_investor_index(apps, schema_editor):
    using = "USING hash " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX transfer_investor_idx ON outflows_crossbordertransfer {using}(investor_ref)")


def drop_investor_index(apps, schema_editor):
    schema_editor.execute("DROP INDEX IF EXISTS transfer_investor_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("outflows", "0005_transfer_changes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["occurred_at", "id"], name="transfer_occurred_idx"),
        ),
        migrations.RunPython(create_investor_index, drop_investor_index),
    ]
