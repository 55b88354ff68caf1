"""Seed the rule catalogue of DESIGN section 6 and the high-risk country list.

The FATF lists change three times a year: supervisors keep HighRiskCountry up to
date in the admin; this is the state of the FATF public statements of October 2025.
"""

from django.db import migrations

RULES = [
    ("LATE_FILING", "Отчёт подан с опозданием / Filing submitted late", "medium", {"grace_days": 0},
     "The first accepted filing of a period was submitted after its due date (plus grace_days)."),
    ("MISSING_FILING", "Отчёт не подан / Filing missing", "high", {},
     "Due date passed and no accepted filing covers the period."),
    ("REJECTED_NOT_RESUBMITTED", "Отклонённый отчёт не подан повторно / Rejected filing not resubmitted", "medium",
     {"days": 10, "material_change": 0.2},
     "A filing was rejected and no accepted filing of the same period arrived within `days`."),
    ("CERTIFICATE_EXPIRED", "Свидетельство ПВТ истекло / HTP certificate expired", "critical",
     {"material_change": 0.2},
     "The operator is active with an expired HTP certificate, or reported transfers after expiry."),
    ("UNREGISTERED_CLIENT", "Клиент не в реестре / Client not in the client register", "high",
     {"material_change": 0.2},
     "Transfers by an investor_ref missing from the operator's client register at that date."),
    ("UNKNOWN_PLATFORM", "Непроверенная платформа / Unverified platform", "medium", {"material_change": 0.2},
     "Transfers to a foreign platform the SCC has not verified."),
    ("HIGH_RISK_JURISDICTION", "Юрисдикция высокого риска / High-risk jurisdiction", "high",
     {"material_change": 0.2},
     "Transfers to platforms in a country on the high-risk list."),
    ("DECLARED_TOTALS_MISMATCH", "Заявленные итоги не совпадают / Declared totals mismatch", "medium",
     {"value_tolerance_byn": "0", "recount_transfers": False},
     "Declared row count or OUT/IN totals differ from the filing's rows (intake findings; recount_transfers "
     "also recounts the imported transfers, a full pass over the table)."),
    ("HIGH_NON_RETURN", "Высокая доля невозврата / High non-return share", "high",
     {"threshold": "0.5", "min_outbound_byn": "0", "material_change": 0.2},
     "The operator's matured non-return share in the latest outflow run is over the threshold."),
    ("PROFILE_MISMATCH", "Профиль не совпадает с реестром / Profile disagrees with the registry", "low",
     {"fields": ["unp", "name", "htp_certificate_no", "htp_certificate_valid_until", "activity"]},
     "The latest accepted operator_profile filing disagrees with the registry."),
]

CALL_FOR_ACTION = {"KP": "КНДР / DPRK", "IR": "Иран / Iran", "MM": "Мьянма / Myanmar"}
INCREASED_MONITORING = {
    "DZ": "Алжир / Algeria", "AO": "Ангола / Angola", "BO": "Боливия / Bolivia", "BG": "Болгария / Bulgaria",
    "CM": "Камерун / Cameroon", "CI": "Кот-д'Ивуар / Côte d'Ivoire", "HR": "Хорватия / Croatia",
    "CD": "ДР Конго / DR Congo", "HT": "Гаити / Haiti", "KE": "Кения / Kenya", "LA": "Лаос / Lao PDR",
    "LB": "Ливан / Lebanon", "MC": "Монако / Monaco", "NA": "Намибия / Namibia", "NP": "Непал / Nepal",
    "SS": "Южный Судан / South Sudan", "SY": "Сирия / Syria", "TZ": "Танзания / Tanzania",
    "VE": "Венесуэла / Venezuela", "VN": "Вьетнам / Vietnam", "VG": "Брит. Виргинские о-ва / BVI",
    "YE": "Йемен / Yemen",
}


def seed(apps, schema_editor):
    Rule = apps.get_model("audits", "Rule")
    HighRiskCountry = apps.get_model("audits", "HighRiskCountry")
    AuditChainHead = apps.get_model("audits", "AuditChainHead")
    for code, title, severity, parameters, description in RULES:
        Rule.objects.update_or_create(
            code=code,
            defaults={"title": title, "severity": severity, "parameters": parameters, "description": description},
        )
    for lst, countries in (("call_for_action", CALL_FOR_ACTION), ("increased_monitoring", INCREASED_MONITORING)):
        for country, note in countries.items():
            HighRiskCountry.objects.update_or_create(country=country, defaults={"list_name": lst, "note": note})
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_event_id": 0, "last_hash": "0" * 64})


def unseed(apps, schema_editor):
    apps.get_model("audits", "Rule").objects.filter(code__in=[r[0] for r in RULES]).delete()
    apps.get_model("audits", "HighRiskCountry").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
