"""The SANCTIONED_COUNTERPARTY rule (issue 19): transfers to a platform confirmed as sanctioned."""

from django.db import migrations

CODE = "SANCTIONED_COUNTERPARTY"
FIELDS = {
    "title": "Переводы на платформу под санкциями",
    "explanation": "Переводы на иностранную платформу из санкционного списка после даты её включения в список.",
    "title_en": "Transfers to a sanctioned platform",
    "explanation_en": "Transfers to a foreign platform on a sanctions list after the date it was listed.",
    "title_be": "Пераводы на платформу пад санкцыямі",
    "explanation_be": "Пераводы на замежную платформу з санкцыйнага спіса пасля даты яе ўключэння ў спіс.",
    "severity": "critical",
    "parameters": {},
    "description": (
        "Flags each operator with transfers (OUT or IN) to a foreign platform that an SCC reviewer "
        "confirmed as listed (screening review: confirmed hit), from the first instant of its listing "
        "date in Europe/Minsk; one flag per operator and platform. No parameters."
    ),
}


def seed(apps, schema_editor):
    apps.get_model("audits", "Rule").objects.update_or_create(code=CODE, defaults=FIELDS)


def unseed(apps, schema_editor):
    apps.get_model("audits", "Rule").objects.filter(code=CODE).delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0013_rule_versions")]
    operations = [migrations.RunPython(seed, unseed)]
