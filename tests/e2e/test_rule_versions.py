"""In a real browser, with a real Celery worker: a supervisor lowers HIGH_NON_RETURN's threshold and raises
its minimum outbound value as a draft, backtests it over 2025 and sees the flag it would open (operator A)
and the one it would clear (operator B) before publishing; after publishing, a scan's new flag records
version 2 and its page says so. Screenshot: docs/screenshots/rule-backtest.png."""

from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from audits.models import Flag, RuleVersion
from audits.services import scan_run
from tests.audits import helpers as h
from tests.audits.test_rule_versions import _run
from tests.e2e.conftest import login, screenshot
from tests.factories import OperatorFactory, supervisor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_backtest_shows_added_and_removed_flags_before_publishing(page, live_server, celery_worker_process, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    h.seed_catalogue()
    import_module("audits.migrations.0008_rule_titles_per_language").fill(apps, None)
    a = OperatorFactory(name="ООО «Альфа-Крипто»")
    b = OperatorFactory(name="ООО «Бета-Обмен»")
    c = OperatorFactory(name="ООО «Гамма»")
    _run(datetime(2025, 5, 10, 12, tzinfo=UTC), {a: ("0.40", 5000), b: ("0.90", 1000), c: ("0.80", 250000)})
    scan_run(now=h.NOW)
    b_flag = Flag.objects.get(operator=b, rule__code="HIGH_NON_RETURN")
    user = supervisor()

    login(page, live_server, user.username)
    page.get_by_role("link", name="Правила", exact=True).click()
    page.get_by_role("link", name="Высокая доля невозврата").click()
    expect(page.locator("#live-version")).to_contain_text("№1")
    threshold = page.get_by_label("threshold", exact=True)  # one field per parameter, the version in force
    expect(threshold).to_have_value("0,5")
    threshold.fill("0,3")
    page.get_by_label("min_outbound_byn", exact=True).fill("2000")
    page.get_by_label("Основание изменения").fill("Порог 30 %, только от 2 000 BYN")
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.locator("#draft h2")).to_contain_text("Черновик версии №2")
    expect(page.locator("#draft-changes")).to_contain_text("2\u00a0000")
    expect(page.locator("#draft-changes tbody tr")).to_have_count(2)  # threshold and min_outbound_byn only

    page.locator("#id_date_from").fill("01.01.2025")
    page.locator("#id_date_to").fill("31.12.2025")
    page.get_by_role("button", name="Проверить на истории").click()
    for _ in range(60):  # the worker stores the result on the version; the page shows it once reloaded
        if RuleVersion.objects.filter(rule__code="HIGH_NON_RETURN", number=2, backtest_status="finished").exists():
            break
        page.wait_for_timeout(500)
    page.reload()
    expect(page.locator("#backtest-open")).to_contain_text("ООО «Альфа-Крипто»")
    expect(page.locator("#backtest-open")).to_contain_text("новое")
    expect(page.locator("#backtest-close")).to_contain_text("ООО «Бета-Обмен»")
    expect(page.locator("#backtest-close")).to_contain_text(f"#{b_flag.pk}")
    expect(page.locator(f'#backtest-operators tr[data-unp="{a.unp}"] td[data-open="1"]')).to_be_visible()
    expect(page.locator(f'#backtest-operators tr[data-unp="{b.unp}"] td[data-close="1"]')).to_be_visible()
    assert "ООО «Гамма»" not in page.locator("#backtest").inner_text()  # flagged by both versions
    assert Flag.objects.filter(rule__code="HIGH_NON_RETURN").count() == 2  # nothing changed yet
    screenshot(page, "rule-backtest")

    expect(page.locator("#id_effective_from")).to_have_value(timezone.localdate().strftime("%d.%m.%Y"))
    page.get_by_role("button", name="Опубликовать").click()
    expect(page.locator("ul.messages")).to_contain_text("Версия №2 опубликована и действует с")
    expect(page.locator("#live-version")).to_contain_text("№2")
    expect(page.locator('#history tr[data-version="1"]')).to_contain_text("Заменена")

    scan_run()
    flag = Flag.objects.get(operator=a, rule__code="HIGH_NON_RETURN")
    assert flag.rule_version.number == 2
    page.goto(f"{live_server.url}/audits/flags/{flag.pk}/")
    expect(page.locator("#rule-version")).to_contain_text("№2")
