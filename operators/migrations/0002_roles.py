"""Create the SCC groups of DESIGN section 7 with their model permissions.

auditors: read everything (view_*). supervisors: read everything and manage the
registry, platforms, memberships and users. Operator staff are not a group:
they are users with an OperatorMembership. Later apps add their own
permissions to these groups in their own migrations.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

AUDITOR_MODELS = [
    ("operators", "operator"),
    ("operators", "operatorstatuschange"),
    ("operators", "foreignplatform"),
    ("operators", "operatormembership"),
    ("operators", "registrationfiling"),
    ("operators", "filingerror"),
    ("operators", "clientrecord"),
    ("outflows", "crossbordertransfer"),
    ("outflows", "outflowrun"),
    ("outflows", "outflowstat"),
]
SUPERVISOR_MANAGED = [
    ("operators", "operator"),
    ("operators", "foreignplatform"),
    ("operators", "operatormembership"),
    ("auth", "user"),
]


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(pairs, actions):
        codenames = [f"{action}_{model}" for _app, model in pairs for action in actions]
        return Permission.objects.filter(
            content_type__app_label__in={app for app, _ in pairs}, codename__in=codenames
        )

    auditors, _ = Group.objects.get_or_create(name="auditors")
    auditors.permissions.add(*perms(AUDITOR_MODELS, ["view"]))
    supervisors, _ = Group.objects.get_or_create(name="supervisors")
    supervisors.permissions.add(*perms(AUDITOR_MODELS + [("auth", "user"), ("auth", "group")], ["view"]))
    supervisors.permissions.add(*perms(SUPERVISOR_MANAGED, ["add", "change", "delete"]))


def drop_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["auditors", "supervisors"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0001_initial"),
        ("outflows", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, drop_groups)]
