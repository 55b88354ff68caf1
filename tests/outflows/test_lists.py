"""Lists that stay fast at national scale (issue 16, item 3): keyset pages, totals without a full
COUNT, exact indexed admin search, the indexes the filters need, and a bounded number of queries
per page whatever the data size."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from audits.models import Flag, Rule
from config.paging import Total, list_total
from operators.models import FilingKind, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory, PlatformFactory, auditor

pytestmark = pytest.mark.django_db

START = datetime(2025, 1, 1, tzinfo=UTC)
TOTAL_RE = re.compile(r'data-total="(\d+)" data-total-exact="([01])"')


def _grow(operators: int, per_operator: int, *, tag: str) -> list:
    """`operators` new operators with `per_operator` transfers each (two platforms), one flag each."""
    platforms = [PlatformFactory(slug="alpha", country="CY"), PlatformFactory(slug="beta", country="AE")]
    rule = Rule.objects.order_by("code").first()
    made, rows = [], []
    for n in range(operators):
        op = OperatorFactory()
        filing = RegistrationFiling.objects.create(
            operator=op,
            kind=FilingKind.TRANSFER_REGISTER,
            period_start="2025-01-01",
            period_end="2025-12-31",
            status="accepted",
            file="x",
            sha256=f"{op.pk:064d}",
        )
        Flag.objects.create(operator=op, rule=rule, fingerprint=f"{tag}-{n}", subject="s", severity="high")
        rows += [
            CrossBorderTransfer(
                operator=op,
                filing=filing,
                external_id=f"{tag}-{n}-{i}",
                direction="OUT" if i % 2 else "IN",
                occurred_at=START + timedelta(hours=i, minutes=n),
                investor_ref=f"inv-{tag}-{i % 7}",
                platform=platforms[i % 2],
                asset="USDT",
                amount=1,
                value_byn=Decimal("10.00"),
            )
            for i in range(per_operator)
        ]
        made.append(op)
    CrossBorderTransfer.objects.bulk_create(rows)
    return made


def _total(html: str) -> tuple[int, bool]:
    found = TOTAL_RE.findall(html)
    assert found, "no data-total on the page"
    value, exact = found[-1]
    return int(value), exact == "1"


def _walk(client, url: str, params: dict) -> list[int]:
    """Every row's id, following the `next` links from the first page."""
    ids, response = [], client.get(url, params)
    while True:
        page = response.context["page"]
        ids += [t.pk for t in page]
        if not page.has_next:
            return ids
        response = client.get(url + page.next_link)


def test_transfer_list_pages_by_keyset_every_row_once_in_time_order_and_back(client):
    _grow(3, 90, tag="a")
    client.force_login(auditor())
    url = reverse("outflows:transfers")
    ids = _walk(client, url, {})
    expected = list(CrossBorderTransfer.objects.order_by("occurred_at", "id").values_list("id", flat=True))
    assert ids == expected
    second = client.get(url + client.get(url).context["page"].next_link).context["page"]
    assert "after=" in second.next_link
    assert second.has_previous
    back = client.get(url + second.previous_link).context["page"]
    assert [t.pk for t in back] == expected[:100]
    assert not back.has_previous
    # A cursor that is not ours is the first page, not an error.
    assert client.get(url, {"after": "x_1"}).status_code == 200


def test_transfer_list_filters_show_their_exact_total(client):
    first, _ = _grow(2, 30, tag="b")
    client.force_login(auditor())
    url = reverse("outflows:transfers")
    cases = [
        ({}, 60),
        ({"operator": first.unp}, 30),
        ({"platform": "alpha"}, 30),
        ({"country": "AE"}, 30),
        ({"investor": "inv-b-3"}, CrossBorderTransfer.objects.filter(investor_ref="inv-b-3").count()),
        ({"direction": "OUT"}, 30),
        ({"since": "2025-01-01T05:00:00Z", "until": "2025-01-01T09:59:00Z"}, 10),
        ({"operator": "000000000"}, 0),
    ]
    for params, count in cases:
        response = client.get(url, params)
        assert _total(response.content.decode()) == (count, True), params


def test_transfer_list_names_the_direction_in_the_pages_language(client):
    _grow(1, 4, tag="d")
    client.force_login(auditor())
    url = reverse("outflows:transfers")
    cells = re.compile(r"<td[^>]*>(Вывод за рубеж|Возврат|OUT|IN|Out|Return)</td>")
    options = re.compile(r'<option value="(OUT|IN)" ?(?:selected)?>([^<]+)</option>')
    ru = client.get(url, {"direction": "IN"}).content.decode()
    assert set(cells.findall(ru)) == {"Возврат"}
    assert options.findall(ru) == [("OUT", "Вывод за рубеж"), ("IN", "Возврат")]
    assert '<option value="IN" selected>' in ru
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("ru"):  # the request activates English; give the next tests their Russian back
        en = client.get(url).content.decode()
    assert "Вывод" not in en
    assert options.findall(en)[0][0] == "OUT"
    assert options.findall(en)[0][1] not in ("OUT", "Вывод за рубеж")


def test_list_total_is_the_planners_estimate_above_the_limit():
    _grow(1, 40, tag="c")
    with connection.cursor() as cursor:  # the estimate from these rows, not what earlier tests left
        cursor.execute("ANALYZE outflows_crossbordertransfer")
    queryset = CrossBorderTransfer.objects.all()
    assert list_total(queryset, limit=100) == Total(40, exact=True)
    above = list_total(queryset, limit=10)
    assert not above.exact
    assert above.value >= 11
    assert list_total(CrossBorderTransfer.objects.none()) == Total(0, exact=True)


def test_a_count_that_turns_out_slow_gives_way_to_the_estimate():
    _grow(1, 5, tag="t")
    slow = CrossBorderTransfer.objects.extra(where=["pg_sleep(0.1) IS NOT NULL"])
    total = list_total(slow)  # five rows of 0.1 s each: beyond the count's 150 ms
    assert not total.exact
    assert CrossBorderTransfer.objects.count() == 5  # the transaction goes on after the cancelled count


def test_pagination_says_about_n_for_an_estimate(rf):
    from django.template.loader import render_to_string

    from config.paging import KeysetPage

    page = KeysetPage(rows=[], total=Total(1234567, exact=False))
    html = render_to_string("pagination.html", {"page": page, "request": rf.get("/")})
    assert 'data-total="1234567" data-total-exact="0"' in html
    assert "около" in html


def test_admin_transfer_changelist_pages_by_keyset_with_exact_indexed_search(client):
    _first, second = _grow(2, 80, tag="d")
    client.force_login(auditor(is_staff=True))
    url = reverse("admin:outflows_crossbordertransfer_changelist")
    response = client.get(url)
    assert response.status_code == 200
    assert _total(response.content.decode()) == (160, True)
    cl = response.context["cl"]
    latest = list(CrossBorderTransfer.objects.order_by("-occurred_at", "-id").values_list("id", flat=True))
    assert [t.pk for t in cl.result_list] == latest[:100]
    deeper = client.get(url + cl.keyset_page.next_link).context["cl"]
    assert [t.pk for t in deeper.result_list] == latest[100:]
    searches = {
        "inv-d-2": CrossBorderTransfer.objects.filter(investor_ref="inv-d-2").count(),
        "d-1-5": 1,  # external_id
        second.unp: 80,
        "INV-D-2": 0,  # exact, not case-folded
    }
    for term, count in searches.items():
        page = client.get(url, {"q": term})
        assert page.status_code == 200
        assert _total(page.content.decode()) == (count, True), term


def _plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        # A tiny test table: rule out the plans that need no index, so the plan shows whether an index
        # can serve the predicate and the order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for scan in ("bitmapscan", "indexscan", "indexonlyscan"):
            cursor.execute(f"SET LOCAL enable_{scan} = on")
        if "count(*)" not in sql and "investor_ref" not in sql:
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        else:  # a BRIN is read by bitmap scans only
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_lists_filters_and_order_read_indexes():
    select = "SELECT id FROM outflows_crossbordertransfer "
    plans = {
        "transfer_occurred_idx": select + "ORDER BY occurred_at, id LIMIT 101",
        "transfer_investor_idx": select + "WHERE investor_ref = 'x'",
        "transfer_external_id_unique": select + "WHERE operator_id IN (1, 2) AND external_id = 'x'",
    }
    for index, sql in plans.items():
        assert index in _plan(sql), index
    # An operator's rows in a period (a flag's evidence): the BRIN can find them, with the btrees out of
    # the way (dropped inside the test's transaction; the tiny table would prefer them).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE outflows_crossbordertransfer DROP CONSTRAINT transfer_external_id_unique")
        cursor.execute("DROP INDEX transfer_occurred_idx")
    count = (
        "SELECT count(*) FROM outflows_crossbordertransfer"
        " WHERE operator_id = 1 AND occurred_at >= '2025-01-01' AND occurred_at < '2025-02-01'"
    )
    assert "transfer_load_brin" in _plan(count)


def _queries(client, url: str, params: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, url
    return len(captured)


def _page_queries(client, ops) -> dict:
    op = ops[0]
    transfers = reverse("outflows:transfers")
    admin = reverse("admin:outflows_crossbordertransfer_changelist")
    first_page = client.get(transfers).context["page"]
    admin_page = client.get(admin).context["cl"].keyset_page
    pages = {
        "transfers": (transfers, {}),
        "transfers deep": (transfers + first_page.next_link, None),
        "transfers operator": (transfers, {"operator": op.unp}),
        "transfers platform": (transfers, {"platform": "alpha"}),
        "transfers country": (transfers, {"country": "CY"}),
        "transfers investor": (transfers, {"investor": "inv-x-1"}),
        "transfers direction": (transfers, {"direction": "OUT"}),
        "transfers period": (transfers, {"since": "2025-01-01T00:00:00Z", "until": "2025-01-10T00:00:00Z"}),
        "admin": (admin, {}),
        "admin deep": (admin + admin_page.next_link, None),
        "admin search investor": (admin, {"q": "inv-x-1"}),
        "admin search unp": (admin, {"q": op.unp}),
        "admin direction": (admin, {"direction__exact": "OUT"}),
        "flags": (reverse("audits:flag_list"), {}),
        "queue": (reverse("queue"), {}),
        "dossier": (reverse("operators:detail", args=[op.pk]), {}),
    }
    return {name: _queries(client, url, params) for name, (url, params) in pages.items()}


def test_query_counts_per_page_do_not_grow_with_the_data(client):
    ops = _grow(2, 110, tag="x")
    client.force_login(auditor(is_staff=True))
    small = _page_queries(client, ops)
    _grow(6, 400, tag="y")  # four times the operators, fifteen times the transfers
    large = _page_queries(client, ops)
    assert large == small


def test_dossier_destinations_are_cached_until_the_transfers_change(client):
    (op,) = _grow(1, 10, tag="e")
    client.force_login(auditor())
    url = reverse("operators:detail", args=[op.pk])

    def outbound() -> int:
        return sum(row["count"] for row in client.get(url).context["outflow"]["destinations"])

    assert outbound() == 5
    with CaptureQueriesContext(connection) as captured:
        assert outbound() == 5
    assert not any("SUM(" in q["sql"].upper() for q in captured.captured_queries)  # from the cache
    model = CrossBorderTransfer.objects.filter(operator=op).first()
    model.pk, model.external_id, model.direction = None, "e-new", "OUT"
    model.save()
    assert outbound() == 6
