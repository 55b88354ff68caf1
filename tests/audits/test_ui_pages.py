"""The auditors' pages: who may open them, what they show, and queries bounded whatever the data size."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from auditlog.models import AuditEvent
from audits.models import Flag, Rule
from operators.models import FilingKind, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat
from tests.factories import OperatorFactory, PlatformFactory, auditor, operator_staff

pytestmark = pytest.mark.django_db


def _world(size: int) -> list:
    """`size` operators, each with flags under two rules, transfers, and one finished outflow run."""
    rules = list(Rule.objects.order_by("code")[:2])
    platform = PlatformFactory(slug="binance")
    operators = [OperatorFactory() for _ in range(size)]
    flags, transfers, stats = [], [], []
    run = OutflowRun.objects.create(as_of=timezone.now(), status="finished", finished_at=timezone.now())
    for n, op in enumerate(operators):
        filing = RegistrationFiling.objects.create(
            operator=op,
            kind=FilingKind.TRANSFER_REGISTER,
            period_start="2025-01-01",
            period_end="2025-01-31",
            status="accepted",
            file="x",
            sha256=f"{op.pk:064d}",
        )
        for rule in rules:
            flags.append(
                Flag(
                    operator=op,
                    rule=rule,
                    fingerprint=f"{rule.code}-{op.pk}",
                    subject=f"s{n}",
                    severity="high",
                    evidence={"n": n},
                )
            )
        transfers += [
            CrossBorderTransfer(
                operator=op,
                filing=filing,
                external_id=f"T{n}-{i}",
                direction="OUT",
                occurred_at=datetime(2025, 1, 5, tzinfo=UTC) + timedelta(hours=i),
                investor_ref=f"inv{i}",
                platform=platform,
                asset="USDT",
                amount=1,
                value_byn=Decimal("100.00"),
            )
            for i in range(3)
        ]
        for cohort in ("2025-01", "all"):
            stats.append(
                OutflowStat(
                    run=run,
                    dimension="operator",
                    key=op.unp,
                    cohort=cohort,
                    outbound_value_byn=100,
                    returned_value_byn=40,
                    unreturned_value_byn=60,
                    non_return_share=Decimal("0.6"),
                    pending_outbound_value_byn=0,
                    pending_returned_value_byn=0,
                    outbound_count=3,
                )
            )
    for cohort in ("2025-01", "all"):
        stats.append(
            OutflowStat(
                run=run,
                dimension="overall",
                key="all",
                cohort=cohort,
                outbound_value_byn=100 * size,
                returned_value_byn=40 * size,
                unreturned_value_byn=60 * size,
                non_return_share=Decimal("0.6"),
                pending_outbound_value_byn=0,
                pending_returned_value_byn=0,
                outbound_count=3 * size,
            )
        )
    Flag.objects.bulk_create(flags)
    CrossBorderTransfer.objects.bulk_create(transfers)
    OutflowStat.objects.bulk_create(stats)
    return operators


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", ["dashboard", "queue"])
def test_auditor_pages_are_refused_to_operator_staff_and_anonymous(client, name):
    op = OperatorFactory()
    assert client.get(reverse(name)).status_code == 302
    client.force_login(operator_staff(op))
    assert client.get(reverse(name)).status_code == 403


def test_dashboard_shows_the_latest_share_and_flag_counts(client):
    _world(3)
    client.force_login(auditor())
    body = client.get(reverse("dashboard")).content.decode()
    assert "60,0\u00a0%" in body  # the overall share, Russian format
    assert "300,00\u00a0BYN" in body  # money: 1 234,56 BYN
    assert body.count('href="/queue/?rule=') == 2


def test_queue_orders_by_risk_and_filters(client):
    first, second = _world(2)
    from audits.models import OperatorRisk

    OperatorRisk.objects.create(operator=second, score=50, computed_at=timezone.now())
    OperatorRisk.objects.create(operator=first, score=10, computed_at=timezone.now())
    client.force_login(auditor())
    page = client.get(reverse("queue")).context["page"]
    assert [op.pk for op in page] == [second.pk, first.pk]
    rule = Rule.objects.order_by("code").first()
    Flag.objects.filter(operator=first, rule=rule).update(status="dismissed")
    filtered = client.get(reverse("queue"), {"rule": rule.code}).context["page"]
    assert [op.pk for op in filtered] == [second.pk]
    assert [op.pk for op in client.get(reverse("queue"), {"q": first.unp}).context["page"]] == [first.pk]


@pytest.mark.parametrize("url_name", ["dashboard", "queue", "dossier"])
def test_queries_do_not_grow_with_the_data(client, url_name):
    user = auditor()
    client.force_login(user)
    small = _world(2)
    url = reverse("operators:detail", args=[small[0].pk]) if url_name == "dossier" else reverse(url_name)
    baseline = _queries(client, url)
    big = _world(25)
    url = reverse("operators:detail", args=[big[0].pk]) if url_name == "dossier" else reverse(url_name)
    assert _queries(client, url) <= baseline


def test_queue_export_is_safe_and_logged(client):
    (op,) = _world(1)
    op.name = '=HYPERLINK("http://evil")'
    op.save()
    user = auditor()
    client.force_login(user)
    response = client.get(reverse("queue_export", args=["csv"]))
    text = response.getvalue().decode("utf-8-sig")  # streamed
    assert "'=HYPERLINK" in text
    event = AuditEvent.objects.filter(action="export.queue").get()
    assert event.details["rows"] == 1


def test_dossier_shows_confirmed_flags_only_to_operator_staff(client):
    (op,) = _world(1)
    flag = Flag.objects.filter(operator=op).first()
    Flag.objects.filter(pk=flag.pk).update(status="confirmed")
    client.force_login(operator_staff(op))
    response = client.get(reverse("operators:detail", args=[op.pk]))
    assert [f.pk for f in response.context["flags"]] == [flag.pk]
    assert client.get(reverse("operators:dossier_export", args=[op.pk, "csv"])).status_code == 403


def test_dossier_export_for_auditors_is_logged(client):
    (op,) = _world(1)
    client.force_login(auditor())
    response = client.get(reverse("operators:dossier_export", args=[op.pk, "xlsx"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEvent.objects.filter(action="export.dossier").count() == 1


def test_outflow_stats_page_and_export(client):
    _world(2)
    client.force_login(auditor())
    page = client.get(reverse("outflows:stats"), {"dimension": "operator"})
    assert page.status_code == 200
    assert len(page.context["page"]) == 4
    export = client.get(reverse("outflows:stats_export", args=["csv"]), {"dimension": "overall"})
    # Streamed; in Russian (issue 16): `;`, translated headers.
    assert export.getvalue().decode("utf-8-sig").splitlines()[0].startswith("Разрез;Ключ;Когорта")
    assert client.get(reverse("outflows:stats"), {"dimension": "nonsense"}).status_code == 404


def test_flag_evidence_is_rendered_with_links_to_what_it_is_about(client):
    (op,) = _world(1)
    filing = RegistrationFiling.objects.get(operator=op)
    flag = Flag.objects.filter(operator=op).first()
    flag.evidence = {
        "filing": filing.pk,
        "platform": "binance",
        "platform_id": 1,
        "transfer_count": 3,
        "first_occurred_at": "2025-01-05T00:00:00+00:00",
        "rejected_filings": [filing.pk],
    }
    flag.save()
    client.force_login(auditor())
    body = client.get(reverse("audits:flag_detail", args=[flag.pk])).content.decode()
    assert f'href="/filings/{filing.pk}/"' in body
    assert f"/outflows/transfers/?operator={op.unp}&amp;platform=binance" in body
    assert "Отклонённые отчёты" in body
    assert "platform_id" not in body.split("Доказательства")[1].split("</table>")[0]


def test_transfer_list_filters_by_operator_and_platform(client):
    first, _second = _world(2)
    client.force_login(auditor())
    page = client.get(reverse("outflows:transfers"), {"operator": first.unp, "platform": "binance"}).context["page"]
    assert {t.operator_id for t in page} == {first.pk}
    assert len(page) == 3


def test_admin_shows_outflow_runs_with_stats_to_auditors(client):
    _world(1)
    client.force_login(auditor(is_staff=True))
    run = OutflowRun.objects.get()
    assert client.get(reverse("admin:outflows_outflowrun_changelist")).status_code == 200
    page = client.get(reverse("admin:outflows_outflowrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert "overall" in page.content.decode()
    assert client.get(reverse("admin:outflows_crossbordertransfer_changelist")).status_code == 200


def test_filing_error_table_sorts_by_whitelisted_columns(client):
    from operators.models import FilingError

    (op,) = _world(1)
    filing = RegistrationFiling.objects.get(operator=op)
    for row, column, code in ((5, "amount", "b"), (2, "value_byn", "a"), (9, "asset", "c")):
        FilingError.objects.create(
            filing=filing, row=row, column=column, value="x", code=code, message_ru="м", message_en="m"
        )
    client.force_login(auditor())
    url = reverse("filings:detail", args=[filing.pk])
    rows = [e.row for e in client.get(url).context["errors_page"]]
    assert rows == [2, 5, 9]
    assert [e.column for e in client.get(url, {"sort": "column"}).context["errors_page"]] == [
        "amount",
        "asset",
        "value_byn",
    ]
    assert [e.row for e in client.get(url, {"sort": "nonsense"}).context["errors_page"]] == [2, 5, 9]
