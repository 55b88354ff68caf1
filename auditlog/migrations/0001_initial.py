"""The audit log moves from the audits app to auditlog: state only, the tables stay as they are.

audits/0001 created the tables audits_auditevent and audits_auditchainhead; audits/0004-0006
put the append-only trigger, the append function and the app role's grants on them by those
names. Here auditlog takes the two models over under the same table names (no SQL runs, on
PostgreSQL or SQLite); audits/0007 drops them from the audits app's state.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("audits", "0006_app_role_grants")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("last_event_id", models.BigIntegerField(default=0)),
                        ("last_hash", models.CharField(max_length=64)),
                    ],
                    options={"db_table": "audits_auditchainhead"},
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(db_index=True)),
                        ("actor_id", models.BigIntegerField(blank=True, null=True)),
                        ("actor_username", models.CharField(blank=True, max_length=150)),
                        ("ip", models.CharField(blank=True, max_length=45)),
                        ("action", models.CharField(db_index=True, max_length=64)),
                        ("object_type", models.CharField(blank=True, max_length=100)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("object_repr", models.CharField(blank=True, max_length=255)),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        ("details", models.JSONField(blank=True, null=True)),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                    ],
                    options={
                        "db_table": "audits_auditevent",
                        "verbose_name": "событие журнала",
                        "verbose_name_plural": "журнал аудита",
                        "ordering": ["id"],
                        "indexes": [
                            models.Index(fields=["object_type", "object_id"], name="audits_audi_object__148ded_idx")
                        ],
                    },
                ),
            ],
            database_operations=[],
        )
    ]
