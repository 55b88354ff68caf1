"""Create the SCC groups of DESIGN section 7 with their model permissions.

The mapping lives in operators.roles.groups_sync (one place); later apps call it
again from their own migrations once their models exist.
"""

from django.db import migrations


def create_groups(apps, schema_editor):
    from operators.roles import groups_sync

    groups_sync(apps=apps)


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
