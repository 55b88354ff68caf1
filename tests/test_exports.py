"""Exports a Russian accountant opens (issue 16, item 6): CSV in the reader's language (ru/be `;`, decimal
comma, BOM, translated headers), XLSX with typed cells, a named sheet and a frozen header; formula-safe;
one audit event per export; the page's filters and the caller's visibility; a cap on the rows."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from auditlog.labels import EVENT_LABELS
from auditlog.models import AuditEvent
from audits.models import Flag, Rule
from config.exports import Column, csv_stream, xlsx_file
from config.spreadsheets import export_response as filer_template_response
from operators.models import FilingKind, OperatorStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer, OutflowRun, OutflowStat
from tests.factories import OperatorFactory, PlatformFactory, auditor, operator_staff

COLUMNS = (
    Column(gettext_lazy("Оператор")),
    Column(gettext_lazy("Сумма, BYN"), places=2),
    Column(gettext_lazy("Количество")),
    Column("Доля невозврата, %", percent=True),
    Column("Когда"),
    Column("Дата"),
    Column("Нарушений"),
)
ROW = (
    '=HYPERLINK("http://evil")',
    Decimal("1234.50"),
    Decimal("1.500000000000000000"),
    Decimal("0.485000"),
    datetime(2025, 3, 5, 21, 30, tzinfo=UTC),  # 00:30 on the 6th in Minsk
    date(2025, 3, 31),
    7,
)


def _csv(language: str) -> str:
    return "".join(csv_stream(columns=COLUMNS, rows=[ROW], language=language))


# --- the writer (pure) ------------------------------------------------------------------------------


def test_ru_and_be_csv_bom_semicolon_decimal_comma_minsk_dates():
    for language in ("ru", "be"):
        text = _csv(language)
        assert text.startswith("\ufeff")
        header, row = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
        assert header[0] == {"ru": "Оператор", "be": "Аператар"}[language]
        assert row[0] == '\'=HYPERLINK("http://evil")'
        assert row[1:] == ["1234,50", "1,5", "48,5", "06.03.2025 00:30:00", "31.03.2025", "7"]
    assert ";" in _csv("ru").splitlines()[0]


def test_en_csv_commas_dots_iso_dates_and_english_headers():
    text = _csv("en")
    assert text.startswith("\ufeff")
    header, row = list(csv.reader(io.StringIO(text[1:])))
    assert header[:3] == ["Operator", "Amount, BYN", "Quantity"]
    assert row[1:] == ["1234.50", "1.5", "48.5", "2025-03-06 00:30:00", "2025-03-31", "7"]


def test_xlsx_typed_cells_named_sheet_frozen_header():
    with xlsx_file(columns=COLUMNS, rows=[ROW], sheet="Переводы", language="ru") as out:
        book = load_workbook(out)
    sheet = book["Переводы"]
    assert book.sheetnames == ["Переводы"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].value == "Оператор"
    assert sheet["A1"].font.bold
    name, money, amount, share, when, day, count = (c for c in sheet[2])
    assert name.value == '\'=HYPERLINK("http://evil")'
    assert (money.data_type, money.value, money.number_format) == ("n", 1234.5, "#,##0.00")
    assert (amount.data_type, amount.value) == ("n", 1.5)
    assert (share.value, share.number_format) == (0.485, "0.0%")
    assert when.value == datetime(2025, 3, 6, 0, 30)
    assert when.is_date
    assert when.value.tzinfo is None
    assert day.is_date
    assert day.value.date() == date(2025, 3, 31)
    assert (count.data_type, count.value) == ("n", 7)
    assert sheet.column_dimensions["A"].width == 16


@pytest.mark.parametrize("text", ["=1+1", "+7", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_trigger_is_escaped_in_both_formats(text):
    columns = (Column("x"),)
    row = list(csv.reader(io.StringIO(_strip_bom("".join(csv_stream(columns=columns, rows=[(text,)], language="ru"))))))
    assert row[1][0] == "'" + text
    with xlsx_file(columns=columns, rows=[(text,)], sheet="s", language="ru") as out:
        cell = load_workbook(out).active["A2"].value
    assert cell.replace("\n", "\r") == "'" + text.replace("\n", "\r")  # XML reads a lone CR as LF


def _strip_bom(text: str) -> str:
    return text.removeprefix("\ufeff")


# --- the pages' exports -----------------------------------------------------------------------------


@pytest.fixture
def world(db):
    platform = PlatformFactory(slug="binance")
    a, b = OperatorFactory(name="ООО «Альфа»"), OperatorFactory(name="=ООО «Бета»", status=OperatorStatus.SUSPENDED)
    rules = list(Rule.objects.order_by("code")[:2])
    for op in (a, b):
        filing = RegistrationFiling.objects.create(
            operator=op,
            kind=FilingKind.TRANSFER_REGISTER,
            period_start="2025-01-01",
            period_end="2025-01-31",
            status="accepted",
            file="x",
            sha256=f"{op.pk:064d}",
        )
        CrossBorderTransfer.objects.bulk_create(
            CrossBorderTransfer(
                operator=op,
                filing=filing,
                external_id=f"T{op.pk}-{i}",
                direction="OUT" if i else "IN",
                occurred_at=datetime(2025, 1, 5, 21, i, tzinfo=UTC),
                investor_ref="@inv" if i == 2 else f"inv{i}",
                platform=platform,
                asset="USDT",
                amount=Decimal("1.5"),
                value_byn=Decimal("1234.56"),
            )
            for i in range(3)
        )
        for rule in rules:
            Flag.objects.create(
                operator=op, rule=rule, fingerprint=f"{rule.code}-{op.pk}", subject="-s", severity="high", evidence={}
            )
    Flag.objects.filter(operator=a, rule=rules[0]).update(status="confirmed")
    Flag.objects.filter(operator=b, rule=rules[0]).update(status="confirmed")
    run = OutflowRun.objects.create(as_of=timezone.now(), status="finished", finished_at=timezone.now())
    OutflowStat.objects.bulk_create(
        OutflowStat(
            run=run,
            dimension="operator",
            key=op.unp,
            cohort="all",
            outbound_value_byn=100,
            returned_value_byn=40,
            unreturned_value_byn=60,
            non_return_share=Decimal("0.6"),
            pending_outbound_value_byn=0,
            pending_returned_value_byn=0,
            outbound_count=3,
        )
        for op in (a, b)
    )
    return {"a": a, "b": b, "rules": rules}


def _exports(world) -> dict:
    a = world["a"]
    return {
        "export.transfers": reverse("outflows:transfers_export", args=["FMT"]),
        "export.flags": reverse("audits:flag_list_export", args=["FMT"]),
        "export.registry": reverse("operators:registry_export", args=["FMT"]),
        "export.queue": reverse("queue_export", args=["FMT"]),
        "export.outflow_stats": reverse("outflows:stats_export", args=["FMT"]) + "?dimension=operator",
        "export.dossier": reverse("operators:dossier_export", args=[a.pk, "FMT"]),
    }


def _rows(response, delimiter=";") -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=delimiter))


def _sheet(response):
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]


def test_every_export_in_both_formats_is_one_audit_event_safe_and_typed(client, world):
    user = auditor()
    client.force_login(user)
    for action, url in _exports(world).items():
        for fmt in ("csv", "xlsx"):
            before = AuditEvent.objects.filter(action=action).count()
            response = client.get(url.replace("FMT", fmt))
            assert response.status_code == 200, (action, fmt)
            assert AuditEvent.objects.filter(action=action).count() == before + 1, action
            event = AuditEvent.objects.filter(action=action).latest("pk")
            assert event.actor_username == user.username
            assert event.details["format"] == fmt
            assert event.details["language"] == "ru"
            if fmt == "csv":
                rows = _rows(response)
                assert len(rows) - 1 == event.details["rows"], action
                cells = [cell for row in rows for cell in row]
                assert all(not c.startswith(("=", "+", "-", "@")) for c in cells), (action, cells)
                assert all(not c.isascii() or not c.replace("_", "").isalpha() or c.isupper() for c in rows[0]), rows[0]
            else:
                sheet = _sheet(response)
                assert sheet.freeze_panes == "A2"
                values = [c for r in sheet.iter_rows(values_only=True) for c in r]
                assert all(not str(c).startswith(("=", "+", "-", "@")) for c in values if isinstance(c, str)), action
                assert sheet.max_row - 1 == event.details["rows"], action


def test_transfers_csv_in_russian_and_english_and_xlsx_types(client, world):
    client.force_login(auditor())
    url = reverse("outflows:transfers_export", args=["csv"])
    rows = _rows(client.get(url, {"operator": world["a"].unp}))
    assert rows[0][:3] == ["Дата и время (Минск)", "УНП оператора", "Оператор"]
    assert len(rows) == 4  # the page's filter: operator a's three transfers
    first = rows[1]
    assert first[0] == "06.01.2025 00:00:00"
    assert first[-2:] == ["1234,56", str(RegistrationFiling.objects.get(operator=world["a"]).pk)]
    assert first[9] == "1,5"
    assert "'@inv" in rows[3]

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    rows = _rows(client.get(url, {"operator": world["a"].unp, "direction": "OUT"}), delimiter=",")
    assert rows[0][:3] == ["Date and time (Minsk)", "Operator UNP", "Operator"]
    assert len(rows) == 3  # the direction filter too
    assert rows[1][0] == "2025-01-06 00:01:00"
    assert rows[1][-2] == "1234.56"
    event = AuditEvent.objects.filter(action="export.transfers").latest("pk")
    assert event.details["filters"] == {"operator": world["a"].unp, "direction": "OUT"}
    assert event.details["language"] == "en"

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    response = client.get(reverse("outflows:transfers_export", args=["xlsx"]), {"operator": world["a"].unp})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = _sheet(response)
    assert sheet.title == "Переводы"
    assert sheet["A2"].value == datetime(2025, 1, 6, 0, 0)
    assert sheet["A2"].is_date
    assert sheet["K2"].data_type == "n"
    assert sheet["K2"].value == pytest.approx(1234.56)
    assert sheet["J2"].data_type == "n"
    assert sheet["J2"].value == 1.5


def test_operator_staff_export_only_their_own_rows(client, world):
    a, b = world["a"], world["b"]
    client.force_login(operator_staff(a))
    rows = _rows(client.get(reverse("operators:registry_export", args=["csv"])))
    assert [r[0] for r in rows[1:]] == [a.unp]
    rows = _rows(client.get(reverse("audits:flag_list_export", args=["csv"]), {"q": b.unp}))
    assert rows[1:] == []  # b's confirmed flags are not theirs
    rows = _rows(client.get(reverse("audits:flag_list_export", args=["csv"])))
    assert [r[1] for r in rows[1:]] == [a.unp]  # their one confirmed flag, not the open one
    assert "Риск" not in rows[0]
    assert "Исполнитель" not in rows[0]
    for name, args in (
        ("outflows:transfers_export", ["csv"]),
        ("queue_export", ["csv"]),
        ("outflows:stats_export", ["xlsx"]),
        ("operators:dossier_export", [a.pk, "csv"]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 403, name
    assert not AuditEvent.objects.filter(action__in=["export.transfers", "export.queue", "export.dossier"]).exists()


def test_exports_follow_the_page_filters(client, world):
    a, b = world["a"], world["b"]
    client.force_login(auditor())
    rows = _rows(client.get(reverse("operators:registry_export", args=["csv"]), {"status": OperatorStatus.SUSPENDED}))
    assert [r[0] for r in rows[1:]] == [b.unp]
    assert rows[1][1] == "'=ООО «Бета»"
    rule = world["rules"][1]
    rows = _rows(client.get(reverse("audits:flag_list_export", args=["csv"]), {"rule": rule.code, "q": a.unp}))
    assert [(r[1], r[4], r[5]) for r in rows[1:]] == [(a.unp, rule.label, rule.code)]
    assert _rows(client.get(reverse("audits:flag_list_export", args=["csv"]), {"severity": "critical"}))[1:] == []
    assert len(_rows(client.get(reverse("audits:flag_list_export", args=["csv"]), {"severity": "high"}))) == 5
    user = auditor()
    Flag.objects.filter(pk=Flag.objects.filter(operator=a).order_by("pk").first().pk).update(assignee=user)
    client.force_login(user)
    url = reverse("audits:flag_list_export", args=["csv"])
    assert len(_rows(client.get(url, {"assignee": "me"}))) == 2  # the queue's filters too
    assert len(_rows(client.get(url, {"assignee": "none"}))) == 4
    assert len(_rows(client.get(url, {"assignee": str(user.pk)}))) == 2
    rows = _rows(client.get(reverse("queue_export", args=["csv"]), {"operator_status": OperatorStatus.SUSPENDED}))
    assert [r[1] for r in rows[1:]] == [b.unp]
    rows = _rows(client.get(reverse("outflows:stats_export", args=["csv"]), {"dimension": "operator", "key": a.unp}))
    assert rows[1][1:] == [a.unp, "all", "100,00", "40,00", "60,00", "60,0", "0,00", "0,00", "3"]


def test_above_the_cap_no_file_no_event_and_a_message(client, world, settings):
    settings.EXPORT_MAX_ROWS = 5
    client.force_login(auditor())
    response = client.get(reverse("outflows:transfers_export", args=["xlsx"]), {"direction": "OUT"})
    assert response.status_code == 200  # 4 rows
    response = client.get(reverse("outflows:transfers_export", args=["csv"]), {"country": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("outflows:transfers") + "?country="
    with translation.override("ru"):
        [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "больше 5 строк" in message
    assert AuditEvent.objects.filter(action="export.transfers").count() == 1


def test_unknown_format_is_404(client, world):
    client.force_login(auditor())
    assert client.get(reverse("outflows:transfers_export", args=["pdf"])).status_code == 404
    assert client.get(reverse("audits:flag_list_export", args=["json"])).status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="export.").exists()


def test_the_filer_template_export_names_its_sheet_freezes_its_header_and_keeps_numbers():
    response = filer_template_response(
        headers=["external_id", "errors"], rows=[["=1", 5]], fmt="xlsx", filename="x", sheet="Ошибки"
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Ошибки"]
    sheet = book["Ошибки"]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[2]] == ["'=1", 5]
    assert sheet["B2"].data_type == "n"


def test_subjects_and_countries_in_the_readers_language_not_stored_sentences(client, world):
    a = world["a"]
    rule = Rule.objects.get(code="UNKNOWN_PLATFORM")
    Flag.objects.create(
        operator=a,
        rule=rule,
        fingerprint="u",
        subject="unverified platform binance (AE)",
        severity="high",
        evidence={"platform": "binance", "country": "AE"},
    )
    client.force_login(auditor())
    rows = _rows(client.get(reverse("audits:flag_list_export", args=["csv"]), {"rule": "UNKNOWN_PLATFORM"}))
    assert [r[6] for r in rows[1:]] == ["Непроверенная платформа Binance (Объединённые Арабские Эмираты)"]
    dossier = _rows(client.get(reverse("operators:dossier_export", args=[a.pk, "csv"])))
    assert any("Непроверенная платформа Binance" in r[1] for r in dossier)
    assert not any("unverified" in cell for r in dossier for cell in r)
    transfers = _rows(client.get(reverse("outflows:transfers_export", args=["csv"]), {"operator": a.unp}))
    assert transfers[1][6:8] == ["Binance", "Объединённые Арабские Эмираты"]


def test_xlsx_has_its_own_lower_cap_and_points_to_csv(client, world, settings):
    settings.EXPORT_MAX_ROWS, settings.EXPORT_MAX_ROWS_XLSX = 10, 5
    client.force_login(auditor())
    assert client.get(reverse("outflows:transfers_export", args=["csv"])).status_code == 200  # 6 rows
    response = client.get(reverse("outflows:transfers_export", args=["xlsx"]))
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "больше 5 строк" in messages[0]
    assert messages[1] == "В CSV можно выгрузить до 10 строк."
    assert AuditEvent.objects.filter(action="export.transfers").count() == 1


def test_each_page_offers_both_exports_of_its_current_selection(client, world):
    a = world["a"]
    client.force_login(auditor())
    pages = {
        reverse("outflows:transfers") + f"?operator={a.unp}": reverse("outflows:transfers_export", args=["FMT"])
        + f"?operator={a.unp}",
        reverse("audits:flag_list") + "?severity=high": reverse("audits:flag_list_export", args=["FMT"])
        + "?severity=high",
        reverse("operators:list") + "?status=active": reverse("operators:registry_export", args=["FMT"])
        + "?status=active",
        reverse("queue") + "?severity=high": reverse("queue_export", args=["FMT"]) + "?severity=high",
        reverse("outflows:stats") + "?dimension=operator": reverse("outflows:stats_export", args=["FMT"])
        + "?dimension=operator",
        reverse("operators:detail", args=[a.pk]): reverse("operators:dossier_export", args=[a.pk, "FMT"]),
    }
    for page, export in pages.items():
        body = client.get(page).content.decode()
        for fmt in ("csv", "xlsx"):
            assert f'href="{export.replace("FMT", fmt)}' in body, (page, fmt)
    client.force_login(operator_staff(a))
    for page in (reverse("audits:flag_list"), reverse("operators:list")):
        body = client.get(page).content.decode()
        assert reverse("audits:flag_list_export", args=["csv"]) in body or "registry.csv" in body, page


def test_every_export_event_has_a_name_in_the_readers_language():
    actions = ("export.transfers", "export.flags", "export.registry", "export.queue", "export.outflow_stats")
    assert all(action in EVENT_LABELS for action in (*actions, "export.dossier"))
