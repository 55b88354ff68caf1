"""In a real browser: an operator uploads a broken file and sees every error, then a valid one and sees it accepted."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from operators.models import RegistrationFiling
from tests.conftest import wait_for
from tests.e2e.conftest import login, screenshot
from tests.factories import OperatorFactory, operator_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLES = Path(__file__).resolve().parents[1] / "filings" / "samples"
BROKEN = (
    "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
    "TX-1,2025-03-01T09:15:00,OUT,inv1,binance,AE,USDT,1500.00,4875.00\n"  # no offset
    "TX-2,2025-03-02T18:40:12Z,SIDEWAYS,inv2,bybit,AE,BTC,0.0125,3312.50\n"  # unknown direction
    "TX-3,2025-03-03T10:00:00Z,OUT,inv3,kraken,XX,ETH,-1,3600.001\n"  # bad country, amount, decimals
)


def _fill(page, path: Path) -> None:
    page.get_by_label("Вид отчёта").select_option("transfer_register")
    page.get_by_label("Начало периода").fill("2025-03-01")
    page.get_by_label("Конец периода").fill("2025-03-31")
    page.get_by_label("Файл (CSV или XLSX)").set_input_files(str(path))


def test_operator_sees_every_error_then_files_a_valid_register(page, live_server, celery_worker_process, tmp_path):
    operator = OperatorFactory(unp="191234563")
    user = operator_staff(operator)
    login(page, live_server, user.username)
    assert "/filings/" in page.url

    broken = tmp_path / "broken.csv"
    broken.write_text(BROKEN)
    _fill(page, broken)
    page.locator("#upload-form button[value=dry_run]").click()
    # The form is sent by static/js/upload.js (fetch, progress bar); its answer is the check's page.
    page.wait_for_url("**/filings/checks/**")
    body = page.content()
    for row in ("2", "3", "4"):
        assert page.locator("td", has_text=row).count() >= 1
    for column in ("occurred_at", "direction", "platform_country", "amount", "value_byn"):
        assert column in body, column
    screenshot(page, "dry-run-errors")
    assert not RegistrationFiling.objects.exists()  # a dry run stores nothing

    page.get_by_role("link", name="Проверить исправленный файл").click()  # back to the form
    _fill(page, SAMPLES / "191234563_transfer_register_2025-03.csv")
    page.locator("#upload-form button[value=submit]").click()
    page.wait_for_url("**/filings/*/")
    # The real Celery worker processes the filing; the operator reloads its page.
    wait_for(lambda: RegistrationFiling.objects.get().status == "accepted", timeout=60)
    page.reload()
    expect(page.locator(".badge.status-accepted").first).to_be_visible()
    screenshot(page, "filing-accepted")
