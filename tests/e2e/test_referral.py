"""In a real browser, with two-factor sessions: auditor A proposes to refer a high flag to the financial
monitoring department, auditor B approves it; the referral builds its package, which B downloads from the
flag page and which verifies offline (manage.py verify_referral exit 0)."""

import subprocess
import sys
from pathlib import Path

import pytest

from casework.models import ReferralPackage
from casework.referrals.package import package_verify
from tests.casework import helpers as ch
from tests.e2e.conftest import screenshot
from tests.e2e.test_four_eyes import login_2fa, logout
from tests.factories import OperatorFactory, auditor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def test_propose_refer_approve_download_and_verify_the_package(page, live_server, tmp_path):
    flag = ch.flag_with_evidence(op=OperatorFactory(name="ООО «Криптообмен»"), severity="high")
    a, b = auditor(username="auditor_a"), auditor(username="auditor_b")
    url = f"{live_server.url}/audits/flags/{flag.pk}/"

    login_2fa(page, live_server, a)
    page.goto(url)
    page.get_by_label("Заметка / основание").fill("Переводы на непроверенную платформу, признаки вывода средств.")
    page.get_by_label("Ведомство").select_option("fmd")
    page.get_by_role("button", name="Предложить передать в ведомство").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#referral-package").count() == 0
    logout(page)

    login_2fa(page, live_server, b)
    page.goto(url)
    page.get_by_label("Комментарий (для возврата обязателен)").fill("Согласен.")
    page.get_by_role("button", name="Утвердить решение").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "referred"
    link = page.locator("#referral-package")
    assert link.inner_text() == "Скачать пакет передачи (ZIP)"
    screenshot(page, "referral")
    with page.expect_download() as caught:
        link.click()
    saved = tmp_path / caught.value.suggested_filename
    caught.value.save_as(saved)

    package = ReferralPackage.objects.get(flag=flag)
    assert package.agency == "fmd"
    assert saved.read_bytes() == bytes(package.content)
    assert package_verify(saved.read_bytes(), expected_sha256=package.sha256).ok
    checked = subprocess.run(
        [sys.executable, "manage.py", "verify_referral", str(saved), "--sha256", package.sha256],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
