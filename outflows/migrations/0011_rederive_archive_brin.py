import django.db.models.deletion
from django.db import migrations, models

# The archive's rows of one filing are written by one INSERT ... SELECT, so they lie together: a BRIN
# on filing_id finds them for a few bytes per range (bench/README_rederive.md: the btree cost the move
# of a 1M-row register about a fifth of its time). Other databases (the embedded SQLite) get a plain index.
INDEX = "archivedtransfer_filing_brin"


def create_index(apps, schema_editor):
    using = "USING brin " if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE INDEX {INDEX} ON outflows_archivedtransfer {using}(filing_id)")


def drop_index(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0005_field_labels"),
        ("outflows", "0010_variants_crosstabs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="archivedtransfer",
            name="filing",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="operators.registrationfiling",
            ),
        ),
        migrations.RunPython(create_index, drop_index),
    ]
