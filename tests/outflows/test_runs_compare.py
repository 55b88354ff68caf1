"""Two runs compared cell by cell (issue 17 item 6): the selector, the page, who may open it."""

import datetime as dt
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from outflows.comparison import CHANGED, ONLY_A, ONLY_B, SAME, CellComparison, inputs_difference, runs_compare
from outflows.services import LOCK_KEY, outflow_run_compute
from tests.factories import OperatorFactory, auditor, operator_staff, supervisor
from tests.filings.intake_helpers import submit
from tests.outflows.test_rederive import APRIL, APRIL_AGAIN, AS_OF, MARCH, register

pytestmark = pytest.mark.django_db
NBSP = "\xa0"


@pytest.fixture(autouse=True)
def _no_stale_lock():
    cache.delete(LOCK_KEY)
    yield
    cache.delete(LOCK_KEY)


@pytest.fixture
def two_runs():
    """Run A (window 45 days); a resubmission of April; run B (window 30 days, same as_of)."""
    operator = OperatorFactory()
    march = submit(operator, register(MARCH), start=date(2025, 3, 1), end=date(2025, 3, 31)).filing
    april = submit(operator, register(APRIL), start=date(2025, 4, 1), end=date(2025, 4, 30)).filing
    a = outflow_run_compute(as_of=AS_OF, window_days=45)
    again = submit(operator, register(APRIL_AGAIN), start=date(2025, 4, 1), end=date(2025, 4, 30)).filing
    b = outflow_run_compute(as_of=AS_OF, window_days=30)
    return {"operator": operator, "march": march, "april": april, "again": again, "a": a, "b": b}


def test_every_cell_of_either_run_with_both_figures(two_runs):
    a, b = two_runs["a"], two_runs["b"]
    rows = runs_compare(a=a, b=b)
    cells_a = set(a.stats.values_list("dimension", "key", "cohort"))
    cells_b = set(b.stats.values_list("dimension", "key", "cohort"))
    assert {(r.dimension, r.key, r.cohort) for r in rows} == cells_a | cells_b
    for row in rows:
        if row.state == ONLY_A:
            assert (row.dimension, row.key, row.cohort) in cells_a - cells_b
        if row.state == ONLY_B:
            assert row.b is not None and row.a is None  # noqa: PT018
    overall = next(r for r in rows if (r.dimension, r.key, r.cohort) == ("overall", "all", "all"))
    stat_a = a.stats.get(dimension="overall", key="all", cohort="all")
    stat_b = b.stats.get(dimension="overall", key="all", cohort="all")
    assert overall.a["outbound_value_byn"] == stat_a.outbound_value_byn
    assert overall.b["unreturned_value_byn"] == stat_b.unreturned_value_byn
    assert overall.unreturned_delta == stat_b.unreturned_value_byn - stat_a.unreturned_value_byn
    if stat_a.non_return_share is not None and stat_b.non_return_share is not None:
        assert overall.share_points == (stat_b.non_return_share - stat_a.non_return_share) * 100
    assert overall.state == CHANGED
    # The same run against itself: every cell the same, none left with "changed only".
    assert {r.state for r in runs_compare(a=a, b=a)} == {SAME}
    assert runs_compare(a=a, b=a, changed_only=True) == []


def test_the_inputs_that_differ_are_named(two_runs):
    diff = inputs_difference(a=two_runs["a"], b=two_runs["b"])
    assert diff.same_filings is False
    assert [f.pk for f in diff.only_a] == [two_runs["april"].pk]
    assert [f.pk for f in diff.only_b] == [two_runs["again"].pk]
    assert inputs_difference(a=two_runs["a"], b=two_runs["a"]).same_filings is True


def test_page_shows_both_runs_in_russian_numbers(client, two_runs):
    a, b = two_runs["a"], two_runs["b"]
    client.force_login(auditor())
    url = reverse("outflows:runs_compare")
    response = client.get(url, {"a": a.pk, "b": b.pk, "dimension": "platform"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Сравнение расчётов" in html
    stat = a.stats.get(dimension="platform", key="binance", cohort="all")
    whole, fraction = f"{stat.outbound_value_byn:.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", NBSP)
    assert f"{grouped},{fraction}{NBSP}BYN" in html  # 1 500,50 BYN
    assert f'href="{reverse("filings:detail", args=[two_runs["april"].pk])}"' in html
    assert 'data-state="changed"' in html
    # Only the cells that changed, and the defaults (the two latest runs).
    response = client.get(url, {"a": a.pk, "b": a.pk, "changed": "1"})
    assert "Все показатели совпадают." in response.content.decode()
    response = client.get(url)
    assert response.context["b"] == b
    assert response.context["a"] == a


def test_run_page_links_to_the_comparison(client, two_runs):
    client.force_login(supervisor())
    html = client.get(reverse("outflows:run", args=[two_runs["b"].pk])).content.decode()
    assert f"{reverse('outflows:runs_compare')}?b={two_runs['b'].pk}" in html


def test_who_may_compare(client, two_runs):
    url = reverse("outflows:runs_compare")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(operator_staff(two_runs["operator"]))
    assert client.get(url).status_code == 403
    client.force_login(auditor())
    assert client.get(url, {"a": "x"}).status_code == 404
    assert client.get(url, {"a": 999_999}).status_code == 404
    assert client.get(url, {"dimension": "nope"}).status_code == 404
    for hostile in ("²", "٣", "-1", "1" * 40, "1 OR 1=1"):
        assert client.get(url, {"a": hostile, "b": hostile}).status_code == 404
    assert client.get(url, {"page": "x", "changed": "yes"}).status_code == 200


def test_no_runs_yet(client):
    client.force_login(auditor())
    html = client.get(reverse("outflows:runs_compare")).content.decode()
    assert "Для сравнения нужны два завершённых расчёта." in html


def test_share_change_in_points():
    row = CellComparison("overall", "all", "all", a={"non_return_share": Decimal("0.4")},
                         b={"non_return_share": Decimal("0.55")})  # fmt: skip
    assert row.share_points == Decimal("15.00")
    assert CellComparison("overall", "all", "all", a=None, b={"non_return_share": None}).share_points is None


def test_as_of_apart_is_a_comparison_too(two_runs):
    later = outflow_run_compute(as_of=AS_OF + dt.timedelta(days=60), window_days=45)
    rows = runs_compare(a=two_runs["a"], b=later, dimension="overall")
    assert {r.state for r in rows} <= {SAME, CHANGED, ONLY_A, ONLY_B}
    assert any(r.state == CHANGED for r in rows)
