# The transfer lists' indexes (issue 16, item 3): keyset pages on (occurred_at, id), an operator's and a
# platform's rows in time order, an investor's rows. On a fresh database (tests, a new install) the
# table is empty and they cost nothing to build; on a loaded one CREATE INDEX reads the table once
# (about a minute for 10 M rows on two cores) and blocks writes, not reads, meanwhile.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outflows", "0005_transfer_changes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["occurred_at", "id"], name="transfer_occurred_idx"),
        ),
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["operator", "occurred_at"], name="transfer_operator_time_idx"),
        ),
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["platform", "occurred_at"], name="transfer_platform_time_idx"),
        ),
        migrations.AddIndex(
            model_name="crossbordertransfer",
            index=models.Index(fields=["investor_ref"], name="transfer_investor_idx"),
        ),
    ]
