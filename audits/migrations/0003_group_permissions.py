"""Give the SCC groups (operators/migrations/0002_roles.py) their permissions on the audits models.

auditors and supervisors: view everything here. supervisors also edit the rule
catalogue and the high-risk country list. Flags change only through the review
services (admin actions), so nobody gets change_flag; the audit log is read-only.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["rule", "highriskcountry", "flag", "flagnote", "operatorrisk", "scanrun", "remindersent", "auditevent"]
SUPERVISOR = ["change_rule", "add_highriskcountry", "change_highriskcountry", "delete_highriskcountry"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("audits")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="audits", codename__in=[f"view_{m}" for m in VIEW])
    manage = Permission.objects.filter(content_type__app_label="audits", codename__in=SUPERVISOR)
    for name in ("auditors", "supervisors"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*view)
    Group.objects.get(name="supervisors").permissions.add(*manage)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="audits")
    for group in Group.objects.filter(name__in=["auditors", "supervisors"]):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0002_seed_rules_and_high_risk_countries"),
        ("operators", "0002_roles"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
