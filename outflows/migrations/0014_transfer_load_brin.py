# One BRIN for the four columns that follow the load order (filing, updated_at, operator,
# occurred_at), instead of three (0004: filing_id, updated_at; 0006: operator_id, occurred_at).
# A BRIN costs the intake a lookup of its range's summary per row whatever its width, so three
# cost about 0.33 µs a row more than one (bench/README_ingest.md, last section).
# A multi-column BRIN answers a condition on any of its columns, alone or together, as the three
# did: supersession deletes by filing, incremental pulls by updated_at, an operator's period
# (a flag's evidence) by operator and occurred_at. Ranges of 32 pages, as 0006 chose: a few
# hundred kB at 10 M rows. The bloom BRIN on investor_ref stays apart: its filters are 3.6 kB a
# range, which every lookup by filing or period would otherwise read too.
# Elsewhere (the embedded SQLite default) the plain indexes of 0004 stay.

from django.db import migrations

TABLE = "outflows_crossbordertransfer"
OLD = {
    "transfer_filing_idx": "USING brin (filing_id)",
    "transfer_updated_at_idx": "USING brin (updated_at)",
    "transfer_operator_time_brin": "USING brin (operator_id, occurred_at) WITH (pages_per_range = 32, autosummarize = on)",
}
NEW = (
    f"CREATE INDEX transfer_load_brin ON {TABLE} USING brin (filing_id, updated_at, operator_id, occurred_at)"
    " WITH (pages_per_range = 32, autosummarize = on)"
)


def merge(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(NEW)
    for name in OLD:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def split(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, spec in OLD.items():
        schema_editor.execute(f"CREATE INDEX {name} ON {TABLE} {spec}")
    schema_editor.execute("DROP INDEX IF EXISTS transfer_load_brin")


class Migration(migrations.Migration):
    dependencies = [
        ("outflows", "0013_clientrecordasread"),
    ]

    operations = [migrations.RunPython(merge, split)]
