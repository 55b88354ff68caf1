"""The audit log's content types follow its models from audits to auditlog (same rows, relabelled).

Their permissions (the SCC groups' view_auditevent, granted by audits/0003 and groups_sync) and the
admin's log entries point at these rows and so keep working. No event of the log is touched.
"""

from django.db import migrations

MODELS = ("auditevent", "auditchainhead")


def relabel(apps, schema_editor, *, old: str = "audits", new: str = "auditlog"):
    content_type_model = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        moving = content_type_model.objects.using(db).filter(app_label=old, model=model).first()
        if moving is None:
            continue
        # A row under the new label can only be one created by an interrupted run: it holds no grants.
        content_type_model.objects.using(db).filter(app_label=new, model=model).delete()
        moving.app_label = new
        moving.save(update_fields=["app_label"])


def relabel_back(apps, schema_editor):
    relabel(apps, schema_editor, old="auditlog", new="audits")


class Migration(migrations.Migration):
    dependencies = [
        ("auditlog", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(relabel, relabel_back)]
