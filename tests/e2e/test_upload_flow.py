"""In a real browser (issue 16, item 4): a dry run with errors -> download its report -> fix the file ->
check it again (the progress bar, buttons disabled) -> "Submit this file" (the kept one, not chosen
again) -> the filing's progress bar -> accepted.

The operator's import lock is held by the test at two moments, so that the bar is seen for certain
rather than by luck of timing: the dry run and the worker's import both wait for it after the file
is read (filings/locks.py), their progress showing the rows to check.
"""

import csv
import io
import time
from pathlib import Path

import pytest
from django.db import transaction
from playwright.sync_api import expect

from filings.models import KeptUpload
from operators.models import FilingStatus, Operator, RegistrationFiling
from tests.conftest import wait_for
from tests.e2e.conftest import login, screenshot
from tests.factories import OperatorFactory, operator_staff

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
GOOD_ROWS = [f"TX-{i},2025-03-{1 + i % 28:02d}T09:15:00Z,OUT,inv{i},binance,AE,USDT,15.00,48.75" for i in range(1, 401)]


def _broken() -> str:
    rows = list(GOOD_ROWS)
    rows[0] = rows[0].replace("T09:15:00Z", "T09:15:00")  # no offset
    rows[1] = rows[1].replace(",OUT,", ",SIDEWAYS,")
    rows[2] = rows[2].replace(",15.00,", ",-1,")
    return HEADER + "\n".join(rows) + "\n"


def _fill(page, path: Path) -> None:
    page.get_by_label("Вид отчёта").select_option("transfer_register")
    page.get_by_label("Начало периода").fill("2025-03-01")
    page.get_by_label("Конец периода").fill("2025-03-31")
    page.get_by_label("Файл (CSV или XLSX)").set_input_files(str(path))


STATE_JS = """() => {
  const box = document.getElementById("upload-progress");
  return {
    visible: !!box && !box.hidden,
    label: box ? box.querySelector(".progress-label").textContent : "",
    disabled: Array.from(document.querySelectorAll("#upload-form button")).map((b) => b.disabled),
  };
}"""


def _wait_in_page(page, text: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(STATE_JS)
        if text in state["label"] or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def _operator_locked(operator: Operator):
    """Hold the operator's import lock (as another import would) until the block ends."""
    atomic = transaction.atomic()
    atomic.__enter__()
    Operator.objects.select_for_update(no_key=True).filter(pk=operator.pk).first()
    return atomic


def test_dry_run_report_fix_submit_the_kept_file_with_progress(
    page, live_server, celery_worker_process, tmp_path, settings
):
    settings.FILING_DRY_RUN_LOCK_WAIT_SECONDS = 60
    operator = OperatorFactory()
    user = operator_staff(operator)
    login(page, live_server, user.username)
    page.goto(f"{live_server.url}/filings/")
    # Templates and samples are offered beside the form.
    expect(page.locator("#upload-templates a[href='/filings/templates/transfer_register.csv']")).to_have_count(1)

    # 1. A dry run with errors: "проверка не пройдена", nothing filed, the file kept.
    broken = tmp_path / "register.csv"
    broken.write_text(_broken())
    _fill(page, broken)
    page.locator("#upload-form button[value=dry_run]").click()
    page.wait_for_url("**/filings/checks/**")
    expect(page.locator("#check-status")).to_have_text("проверка не пройдена")
    assert "Отклонён" not in page.content()
    assert not RegistrationFiling.objects.exists()

    # 2. Its full report, in the filer's own columns plus `errors`.
    with page.expect_download() as download:
        page.locator("#check-report-csv").click()
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    first = text.splitlines()[0]
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ","))
    assert rows[0] == [*HEADER.strip().split(","), "errors"]
    assert [r[0] for r in rows[1:]] == ["TX-1", "TX-2", "TX-3"]
    screenshot(page, "upload-check-failed")

    # 3. The file fixed and checked again; the bar follows the check, the buttons are disabled meanwhile.
    fixed = tmp_path / "register-fixed.csv"
    fixed.write_text(HEADER + "\n".join(GOOD_ROWS) + "\n")
    # Back leads to the form again (the check's page was a new history entry).
    page.go_back()
    page.wait_for_url(f"{live_server.url}/filings/")
    expect(page.locator("#upload-form")).to_be_visible()
    _fill(page, fixed)
    lock = _operator_locked(operator)
    try:
        # The answer waits for the lock: the click must not wait for the navigation it starts.
        page.locator("#upload-form button[value=dry_run]").click(no_wait_after=True)
        # The form's page stays while its answer is awaited (Playwright's locators would wait for
        # the navigation: the page is read with evaluate).
        state = _wait_in_page(page, "Проверка строк")
        assert state["visible"], state
        assert state["disabled"] == [True, True], state
        assert "400" in state["label"], state
    finally:
        lock.__exit__(None, None, None)
    page.wait_for_url("**/filings/checks/**", timeout=60_000)
    expect(page.locator("#check-status")).to_have_text("проверка пройдена")
    assert KeptUpload.objects.filter(status="valid").count() == 1

    # 4. "Submit this file": the kept file, not chosen again; the filing's own bar, then accepted.
    lock = _operator_locked(operator)
    try:
        page.get_by_role("button", name="Подать этот файл").click()
        page.wait_for_url("**/filings/*/", timeout=30_000)
        bar = page.locator("#filing-progress")
        expect(bar).to_be_visible(timeout=20_000)
        expect(bar.locator(".progress-label")).to_contain_text("Проверка и загрузка строк", timeout=20_000)
        expect(bar.locator(".progress-label")).to_contain_text("из 400 строк")
        screenshot(page, "upload-progress")
    finally:
        lock.__exit__(None, None, None)
    filing = RegistrationFiling.objects.get()
    wait_for(lambda: RegistrationFiling.objects.get().status == FilingStatus.ACCEPTED, timeout=60)
    # The page reloads itself when the status says done.
    expect(page.locator(".badge.status-accepted").first).to_be_visible(timeout=20_000)
    assert filing.original_name == "register-fixed.csv"
    assert RegistrationFiling.objects.get().rows_imported == 400
    # The filed file is no longer kept; the failed one stays until it expires.
    assert list(KeptUpload.objects.values_list("status", flat=True)) == ["rejected"]
    screenshot(page, "upload-accepted")
