from django.db import migrations, models

# The rows of both client-register tables with the columns they share, and which one holds each: a past
# run's residency and KYC cells are drilled down by the records it read (outflows.inputs.client_records_as_read).
# As migration 0012's view: PostgreSQL pushes a query's conditions into each branch.
COLUMNS = "id, operator_id, filing_id, investor_ref, residency_country, registered_at, kyc_level"
CREATE = (
    f"CREATE VIEW outflows_clientrecordasread AS SELECT {COLUMNS}, FALSE AS archived FROM operators_clientrecord"  # noqa: S608
    f" UNION ALL SELECT {COLUMNS}, TRUE AS archived FROM filings_archivedclientrecord"
)
DROP = "DROP VIEW IF EXISTS outflows_clientrecordasread"


class Migration(migrations.Migration):
    dependencies = [
        ("filings", "0003_rederive_client_archive"),
        ("operators", "0005_field_labels"),
        ("outflows", "0012_transferasread"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClientRecordAsRead",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("investor_ref", models.CharField(max_length=64, verbose_name="инвестор")),
                ("residency_country", models.CharField(max_length=2, verbose_name="страна резидентства")),
                ("registered_at", models.DateField(verbose_name="дата регистрации")),
                ("kyc_level", models.CharField(max_length=16, verbose_name="уровень проверки (KYC)")),
                ("archived", models.BooleanField()),
            ],
            options={
                "verbose_name": "клиент из реестра, как его прочитал расчёт",
                "verbose_name_plural": "клиенты из реестров, как их прочитал расчёт",
                "db_table": "outflows_clientrecordasread",
                "managed": False,
            },
        ),
        migrations.RunSQL(CREATE, DROP),
    ]
