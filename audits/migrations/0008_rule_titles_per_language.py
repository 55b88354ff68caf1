"""Rules get a title and a one-line explanation per language (Russian in `title`/`explanation`);
the seeded "ru / en" titles become Russian, and the high-risk list's notes lose their English half."""

from django.db import migrations, models

# code: ((ru title, ru explanation), (en title, en explanation), (be title, be explanation))
TEXTS = {
    "LATE_FILING": (
        ("Отчёт подан с опозданием", "Первый принятый отчёт за период подан позже срока."),
        ("Filing submitted late", "The first accepted filing for the period arrived after its due date."),
        ("Справаздача пададзена са спазненнем", "Першая прынятая справаздача за перыяд пададзена пазней за тэрмін."),
    ),
    "MISSING_FILING": (
        ("Отчёт не подан", "Срок подачи прошёл, а принятого отчёта за период нет."),
        ("Filing missing", "The due date has passed and no accepted filing covers the period."),
        ("Справаздача не пададзена", "Тэрмін падачы прайшоў, а прынятай справаздачы за перыяд няма."),
    ),
    "REJECTED_NOT_RESUBMITTED": (
        ("Отклонённый отчёт не подан повторно", "Отчёт отклонён, а исправленный не принят в установленный срок."),
        ("Rejected filing not resubmitted", "A filing was rejected and no corrected one was accepted in time."),
        (
            "Адхіленая справаздача не пададзена паўторна",
            "Справаздачу адхілілі, а выпраўленую не прынялі ў вызначаны тэрмін.",
        ),
    ),
    "CERTIFICATE_EXPIRED": (
        (
            "Свидетельство ПВТ истекло",
            "Оператор действует с истёкшим свидетельством резидента ПВТ или переводил средства после его истечения.",
        ),
        (
            "HTP certificate expired",
            "The operator is active with an expired HTP residency certificate or reported transfers after it expired.",
        ),
        (
            "Пасведчанне ПВТ скончылася",
            "Аператар дзейнічае з пасведчаннем рэзідэнта ПВТ, тэрмін якога скончыўся, або рабіў пераводы пасля гэтага.",
        ),
    ),
    "UNREGISTERED_CLIENT": (
        ("Клиент не в реестре", "Переводы инвесторов, которых нет в реестре клиентов оператора на дату перевода."),
        (
            "Client not in the client register",
            "Transfers by investors missing from the operator's client register at the transfer date.",
        ),
        ("Кліента няма ў рэестры", "Пераводы інвестараў, якіх няма ў рэестры кліентаў аператара на дату перавода."),
    ),
    "UNKNOWN_PLATFORM": (
        ("Непроверенная платформа", "Переводы на иностранную платформу, которую КГК не проверил."),
        ("Unverified platform", "Transfers to a foreign platform the SCC has not verified."),
        ("Неправераная платформа", "Пераводы на замежную платформу, якую КДК не праверыў."),
    ),
    "HIGH_RISK_JURISDICTION": (
        ("Юрисдикция высокого риска", "Переводы на платформы в стране из перечня высокого риска."),
        ("High-risk jurisdiction", "Transfers to platforms in a country on the high-risk list."),
        ("Юрысдыкцыя высокай рызыкі", "Пераводы на платформы ў краіне з пераліку высокай рызыкі."),
    ),
    "DECLARED_TOTALS_MISMATCH": (
        (
            "Заявленные итоги не совпадают",
            "Заявленное число строк или суммы OUT/IN отчёта расходятся с его строками.",
        ),
        ("Declared totals mismatch", "The declared row count or OUT/IN totals differ from the filing's rows."),
        (
            "Заяўленыя вынікі не супадаюць",
            "Заяўленая колькасць радкоў або сумы OUT/IN справаздачы не супадаюць з яе радкамі.",
        ),
    ),
    "HIGH_NON_RETURN": (
        ("Высокая доля невозврата", "Доля невозврата оператора в последнем расчёте выше порога."),
        ("High non-return share", "The operator's non-return share in the latest outflow run is above the threshold."),
        ("Высокая доля невяртання", "Доля невяртання аператара ў апошнім разліку вышэйшая за парог."),
    ),
    "PROFILE_MISMATCH": (
        ("Профиль не совпадает с реестром", "Последний принятый профиль оператора расходится с данными реестра."),
        (
            "Profile disagrees with the registry",
            "The operator's latest accepted profile filing disagrees with the registry.",
        ),
        ("Профіль не супадае з рэестрам", "Апошні прыняты профіль аператара не супадае з данымі рэестра."),
    ),
}


def fill(apps, schema_editor):
    Rule = apps.get_model("audits", "Rule")
    for rule in Rule.objects.all():
        texts = TEXTS.get(rule.code)
        if texts is None:
            # A rule added by hand: keep its title, without an English half if it has one.
            if " / " in rule.title:
                rule.title = rule.title.partition(" / ")[0]
                rule.save(update_fields=["title"])
            continue
        (rule.title, rule.explanation), (rule.title_en, rule.explanation_en), (rule.title_be, rule.explanation_be) = (
            texts
        )
        rule.save(update_fields=["title", "explanation", "title_en", "explanation_en", "title_be", "explanation_be"])
    HighRiskCountry = apps.get_model("audits", "HighRiskCountry")
    for country in HighRiskCountry.objects.filter(note__contains=" / "):
        country.note = country.note.partition(" / ")[0]
        country.save(update_fields=["note"])


def unfill(apps, schema_editor):
    Rule = apps.get_model("audits", "Rule")
    for rule in Rule.objects.filter(code__in=list(TEXTS)):
        rule.title = f"{TEXTS[rule.code][0][0]} / {TEXTS[rule.code][1][0]}"
        rule.save(update_fields=["title"])


class Migration(migrations.Migration):
    dependencies = [("audits", "0007_audit_log_to_auditlog")]

    operations = [
        migrations.AlterField(
            model_name="rule",
            name="title",
            field=models.CharField(max_length=255, verbose_name="название (рус.)"),
        ),
        migrations.AddField(
            model_name="rule",
            name="title_en",
            field=models.CharField(blank=True, max_length=255, verbose_name="название (англ.)"),
        ),
        migrations.AddField(
            model_name="rule",
            name="title_be",
            field=models.CharField(blank=True, max_length=255, verbose_name="название (бел.)"),
        ),
        migrations.AddField(
            model_name="rule",
            name="explanation",
            field=models.CharField(blank=True, max_length=500, verbose_name="пояснение (рус.)"),
        ),
        migrations.AddField(
            model_name="rule",
            name="explanation_en",
            field=models.CharField(blank=True, max_length=500, verbose_name="пояснение (англ.)"),
        ),
        migrations.AddField(
            model_name="rule",
            name="explanation_be",
            field=models.CharField(blank=True, max_length=500, verbose_name="пояснение (бел.)"),
        ),
        migrations.RunPython(fill, unfill),
    ]
