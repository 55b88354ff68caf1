"""The audit log's models now belong to the auditlog app (auditlog/0001): state only, no SQL.

The tables, the append-only trigger (0004), the append function (0005) and the grants (0006)
stay exactly as they are.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0006_app_role_grants"),
        ("auditlog", "0001_initial"),
    ]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent"), migrations.DeleteModel(name="AuditChainHead")],
            database_operations=[],
        )
    ]
