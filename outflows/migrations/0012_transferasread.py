from django.db import migrations, models

# The rows of both transfer tables with the columns they share, and which one holds each: a past run's
# drill-down reads the rows it read from here (outflows.drilldown.run_rows). UNION ALL of two plain
# SELECTs: PostgreSQL pushes a query's conditions into each branch (and drops a branch whose constant
# `archived` contradicts them), so each table is read through its own indexes.
COLUMNS = (
    "id, operator_id, filing_id, external_id, occurred_at, direction, investor_ref, platform_id, asset, amount,"
    " value_byn, updated_at"
)
CREATE = (
    f"CREATE VIEW outflows_transferasread AS SELECT {COLUMNS}, FALSE AS archived FROM outflows_crossbordertransfer"
    f" UNION ALL SELECT {COLUMNS}, TRUE AS archived FROM outflows_archivedtransfer"
)
DROP = "DROP VIEW IF EXISTS outflows_transferasread"


class Migration(migrations.Migration):
    dependencies = [
        ("outflows", "0011_rederive_archive_brin"),
    ]

    operations = [
        migrations.CreateModel(
            name="TransferAsRead",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("external_id", models.CharField(max_length=64, verbose_name="номер перевода")),
                ("occurred_at", models.DateTimeField(verbose_name="когда")),
                (
                    "direction",
                    models.CharField(
                        choices=[("OUT", "Вывод за рубеж"), ("IN", "Возврат")], max_length=3, verbose_name="направление"
                    ),
                ),
                ("investor_ref", models.CharField(max_length=64, verbose_name="инвестор")),
                ("asset", models.CharField(max_length=10)),
                ("amount", models.DecimalField(decimal_places=18, max_digits=38)),
                ("value_byn", models.DecimalField(decimal_places=2, max_digits=18, verbose_name="сумма, BYN")),
                ("updated_at", models.DateTimeField()),
                ("archived", models.BooleanField()),
            ],
            options={
                "verbose_name": "перевод, как его прочитал расчёт",
                "verbose_name_plural": "переводы, как их прочитал расчёт",
                "db_table": "outflows_transferasread",
                "managed": False,
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
