"""In a real browser: an auditor logs in and sees the registry; staff of one operator cannot open another's."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login, screenshot
from tests.factories import OperatorFactory, auditor, operator_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_auditor_logs_in_and_sees_the_registry_in_russian(page, live_server):
    OperatorFactory(name="ООО «Крипто Обмен»", unp="191234563")
    OperatorFactory(name="ООО «Бета»", status="suspended")
    user = auditor()
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    screenshot(page, "login")
    login(page, live_server, user.username)
    expect(page.get_by_role("heading", name="Сводка")).to_be_visible()
    page.get_by_role("link", name="Реестр операторов").click()
    expect(page.get_by_role("heading", name="Реестр операторов")).to_be_visible()
    expect(page.get_by_role("link", name="ООО «Крипто Обмен»")).to_be_visible()
    expect(page.locator("td .badge", has_text="Приостановлен")).to_be_visible()
    page.get_by_role("link", name="ООО «Крипто Обмен»").click()
    expect(page.get_by_text("191234563").first).to_be_visible()
    screenshot(page, "operator")


def test_language_switch_to_english_and_back(page, live_server):
    user = auditor()
    login(page, live_server, user.username)
    page.goto(f"{live_server.url}/operators/")
    page.locator("button[data-lang=en]").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="Operator registry")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("button[data-lang=ru]").click()
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", name="Реестр операторов")).to_be_visible()


def test_operator_typing_another_operators_url_gets_404(page, live_server):
    own, other = OperatorFactory(), OperatorFactory(name="ООО «Чужой»")
    user = operator_staff(own)
    login(page, live_server, user.username)
    assert "/filings/" in page.url
    response = page.goto(f"{live_server.url}/operators/{other.pk}/")
    assert response.status == 404
    assert "Чужой" not in page.content()
