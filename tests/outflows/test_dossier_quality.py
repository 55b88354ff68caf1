"""The operator's dossier shows its own bootstrap interval and register coverage of the latest finished run,
beside its share (issue 17, items 4 and 5); nothing of other operators, and only where the share was shown."""

import re
from datetime import date
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from operators.templatetags.portal import number, share
from outflows.models import OutflowRun
from outflows.services import outflow_run_compute
from tests.audits import helpers as h
from tests.factories import auditor, operator_staff
from tests.outflows.test_coverage import _operator_with_gaps, at

pytestmark = pytest.mark.django_db


def _well_filed(investors: int) -> object:
    """Every month January-June filed on time (June early, before as_of); `investors` with matured outbounds,
    every third of them got part of it back."""
    op = h.operator()
    filings = [h.filing(op, start=date(2025, m, 1)) for m in range(1, 6)]
    h.filing(op, start=date(2025, 6, 1), submitted=at(2025, 6, 19))
    rows = []
    for i in range(investors):
        rows.append((at(2025, 1 + i % 4, 3), "OUT", f"w{i}", f"{200 + 7 * i}.00"))
        if i % 3 == 0:
            rows.append((at(2025, 1 + i % 4, 20), "IN", f"w{i}", f"{90 + i}.00"))
    for month in range(4):
        h.transfers(op, filings[month], h.platform(), [r for r in rows if r[0].month == month + 1])
    return op


@pytest.fixture
def world():
    gaps = _operator_with_gaps()  # 3 investors; Feb late, Mar superseded, Apr missing, June not due
    good = _well_filed(12)
    single = h.operator()
    h.transfers(single, h.filing(single, start=date(2025, 1, 1)), h.platform(), [(at(2025, 1, 5), "OUT", "s1", "9.00")])
    quiet = h.operator()  # filed, no transfers: no interval
    for m in range(1, 6):
        h.filing(quiet, start=date(2025, m, 1))
    run = outflow_run_compute(as_of=h.NOW, window_days=30)
    return SimpleNamespace(gaps=gaps, good=good, single=single, quiet=quiet, run=run)


def _dossier(client, op, *, user=None) -> str:
    client.force_login(user or auditor())
    response = client.get(reverse("operators:detail", args=[op.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _block(body: str) -> str:
    pattern = r'<div class="run-quality operator-quality" data-operator-quality="\d+">(.*?)</div>'
    [block] = re.findall(pattern, body, re.S)
    return block


def test_dossier_shows_the_operators_interval_and_its_gap_months(client, world):
    body = _dossier(client, world.gaps)
    entry = world.run.uncertainty["operators"][world.gaps.unp]
    assert entry["investors"] == 3
    assert f'data-operator-quality="{world.gaps.unp}"' in body
    block = _block(body)
    with translation.override("ru"):
        low, high = share(entry["low"]), share(entry["high"])
    assert f'data-interval-low="{entry["low"]}" data-interval-high="{entry["high"]}"' in block
    assert f"95-процентный интервал доли оператора: {low} – {high} (инвесторов с выводом: 3)" in block
    states = re.findall(r'<li data-state="(\w+)">(.*?)</li>', block)
    assert [(state, re.sub(r"<[^>]+>", "", text)) for state, text in states] == [
        ("missing", "не подан: 04.2025"),
        ("late", "с опозданием: 02.2025"),
        ("superseded", "заменён: 03.2025"),
        ("not_due", "срок не наступил: 06.2025"),
    ]
    assert "Реестры переводов за месяцы окна (01.2025 – 06.2025):" in block
    assert 'data-complete-share="0.750000"' in block
    assert "Полнота: 75,0\xa0% созревшего вывода оператора" in block
    assert "все месяцы окна покрыты" not in block


def test_a_well_filed_operator_has_every_month_covered_and_only_its_own_figures(client, world):
    body = _dossier(client, world.good)
    block = _block(body)
    mine = world.run.uncertainty["operators"][world.good.unp]
    assert mine["investors"] == 12
    assert mine["low"] < mine["high"]
    with translation.override("ru"):
        low, high = share(mine["low"]), share(mine["high"])
    assert f"интервал доли оператора: {low} – {high} (инвесторов с выводом: {number(12)})" in block
    assert re.findall(r'data-interval-low="([^"]+)"', body) == [mine["low"]]  # one interval: its own
    assert "все месяцы окна покрыты" in block
    assert "data-coverage-month" not in block
    assert 'data-complete-share="1.000000"' in block
    assert world.gaps.unp not in block
    assert "не подан" not in block


def test_no_interval_is_said_plainly(client, world):
    quiet = _block(_dossier(client, world.quiet))
    assert world.quiet.unp not in world.run.uncertainty["operators"]
    assert 'data-interval="none"' in quiet
    assert "Интервала доли оператора в этом расчёте нет: у его клиентов нет созревшего вывода." in quiet
    assert "data-interval-low" not in quiet
    single = _block(_dossier(client, world.single))
    assert world.run.uncertainty["operators"][world.single.unp]["investors"] == 1
    assert "Интервала доли оператора в этом расчёте нет: созревший вывод только у одного инвестора." in single
    assert "data-interval-low" not in single


def test_a_run_without_interval_or_coverage_says_so(client, world):
    OutflowRun.objects.filter(pk=world.run.pk).update(uncertainty={}, coverage={})
    block = _block(_dossier(client, world.gaps))
    assert "В этом расчёте интервалы не вычислялись." in block
    assert "Полнота реестров переводов в этом расчёте не вычислялась." in block


def test_a_dossier_without_a_finished_run_still_renders(client):
    op = _operator_with_gaps()
    OutflowRun.objects.create(as_of=h.NOW, status="running")
    body = _dossier(client, op)
    assert "Нет созревших переводов в последнем расчёте." in body
    assert "data-operator-quality" not in body


def test_operator_staff_see_their_dossier_without_outflow_figures_and_no_other_dossier(client, world):
    """The dossier's rule is unchanged: outflow figures (share, interval, coverage) are the SCC's."""
    body = _dossier(client, world.gaps, user=operator_staff(world.gaps))
    assert "data-operator-quality" not in body
    assert "data-interval-low" not in body
    assert client.get(reverse("operators:detail", args=[world.good.pk])).status_code == 404


def test_english_dossier_translates_the_interval_and_coverage(client, world):
    client.force_login(auditor())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    block = _block(client.get(reverse("operators:detail", args=[world.gaps.pk])).content.decode())
    assert "95% interval of the operator's share:" in block
    assert '>not submitted: <span data-coverage-month="04.2025">04.2025</span></li>' in block
    assert "of the operator's matured outbound value comes from months" in block


def test_coverage_kept_only_overall_shows_the_gap_months_and_no_share():
    run = SimpleNamespace(
        pk=1,
        uncertainty={},
        coverage={
            "months": ["2025-01", "2025-02"],
            "operators": {"190000001": {"states": {"2025-01": "accepted", "2025-02": "missing"}}},
            "complete_share": "0.500000",
        },
    )
    with translation.override("ru"):
        html = Template("{% load run_quality %}{% operator_run_quality run unp %}").render(
            Context({"run": run, "unp": "190000001"})
        )
    assert re.findall(r'<li data-state="(\w+)">.*?data-coverage-month="([\d.]+)"', html) == [("missing", "02.2025")]
    assert "data-complete-share" not in html
    assert "Полнота:" not in html
