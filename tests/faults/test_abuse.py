"""Hostile input, on purpose: refused with a clear error or neutralised, memory bounded, nothing half-imported."""

import io
import resource
import zipfile

import pytest
from django.urls import reverse

from operators.models import RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory, auditor, operator_staff
from tests.filings.intake_helpers import TRANSFER_HEADER, submit

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]
GOOD_ROW = "T1,2025-03-05T10:00:00Z,OUT,inv1,binance,AE,USDT,1,10.00\n"


def _codes(result) -> set[str]:
    return {e.code for e in result.errors}


def _xlsx_with_sheet_xml(sheet_xml: bytes) -> bytes:
    """A minimal XLSX whose first sheet is the given XML."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )
        z.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'officeDocument" Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        z.writestr(
            "xl/workbook.xml",
            (
                '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                'worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
            ),
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()


def test_billion_laughs_in_xlsx_xml_is_refused_without_expanding():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
        )
        + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
        b'<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = submit(OperatorFactory(), _xlsx_with_sheet_xml(laughs), name="laughs.xlsx")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.status == "rejected"
    assert _codes(result) & {"bad_xlsx", "xlsx_too_large"}
    assert grown_mb < 200
    assert not CrossBorderTransfer.objects.exists()


def test_a_million_empty_columns_are_refused_quickly_and_in_bounded_memory():
    header = TRANSFER_HEADER.rstrip("\n") + "," * 1_000_000 + "\n"
    result = submit(OperatorFactory(), (header + GOOD_ROW).encode())
    assert result.status == "rejected"
    assert _codes(result) & {"unknown_column", "line_too_long", "duplicate_column"}
    assert not CrossBorderTransfer.objects.exists()


def test_deeply_quoted_csv_is_refused_or_read_as_plain_text():
    nasty = '"' * 10_001 + "T1" + '"' * 10_001
    result = submit(OperatorFactory(), (TRANSFER_HEADER + GOOD_ROW.replace("T1", nasty, 1)).encode())
    assert result.status == "rejected"
    assert not CrossBorderTransfer.objects.exists()


def test_nul_bytes_are_refused():
    result = submit(OperatorFactory(), (TRANSFER_HEADER + GOOD_ROW.replace("inv1", "inv\x001")).encode())
    assert result.status == "rejected"
    assert not CrossBorderTransfer.objects.exists()


def test_path_traversal_names_never_reach_the_disk(settings):
    result = submit(OperatorFactory(), (TRANSFER_HEADER + GOOD_ROW).encode(), name="../../../../etc/passwd.csv")
    stored = RegistrationFiling.objects.get(pk=result.filing.pk).file.name
    assert ".." not in stored
    assert "passwd" not in stored
    assert stored.startswith("filings/")


def test_html_and_script_in_free_text_are_inert_in_pages(client):
    operator = OperatorFactory(name='<script>alert("x")</script>', legal_address="<img src=x onerror=alert(1)>")
    client.force_login(auditor())
    for url in (reverse("operators:list"), reverse("operators:detail", args=[operator.pk])):
        body = client.get(url).content.decode()
        assert '<script>alert("x")</script>' not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;" in body


@pytest.mark.parametrize("value", ["' OR 1=1 --", "1; DROP TABLE operators_operator;", "%' UNION SELECT 1--", "\\x00"])
def test_sql_like_filter_values_are_harmless(client, value):
    OperatorFactory(name="ООО «Настоящий»")
    client.force_login(auditor())
    for url in (reverse("operators:list"), reverse("queue"), reverse("outflows:transfers")):
        response = client.get(url, {"q": value, "operator": value, "platform": value, "rule": value})
        assert response.status_code == 200
    assert client.get(reverse("operators:list")).context["page"].paginator.count == 1


def test_operator_staff_cannot_upload_for_another_operator(client):
    own, other = OperatorFactory(), OperatorFactory()
    client.force_login(operator_staff(own))
    response = client.post(reverse("filings:list"), {"operator": other.pk, "kind": "transfer_register"})
    assert response.status_code == 404


XSS = '<script>alert("x")</script>'


def test_script_in_every_free_text_field_is_inert_in_pages_and_exports(client):
    """Operator name and address, platform name, flag subject and evidence, notes, file names."""
    from django.utils import timezone

    from audits.models import Flag, FlagNote, Rule
    from operators.models import ForeignPlatform
    from outflows.models import OutflowRun, OutflowStat

    operator = OperatorFactory(name=XSS, legal_address=XSS, aml_officer=XSS)
    ForeignPlatform.objects.create(slug="evil", name=XSS, country="AE")
    result = submit(operator, (TRANSFER_HEADER + GOOD_ROW).encode(), name=f"{XSS}.csv")
    rule = Rule.objects.get_or_create(code="UNKNOWN_PLATFORM", defaults={"title": "t", "severity": "medium"})[0]
    user = auditor()
    flag = Flag.objects.create(
        operator=operator,
        rule=rule,
        fingerprint="xss",
        subject=XSS,
        severity="high",
        evidence={"platform": XSS, "note": XSS},
    )
    FlagNote.objects.create(flag=flag, author=user, text=XSS)
    run = OutflowRun.objects.create(as_of=timezone.now(), status="finished", finished_at=timezone.now())
    OutflowStat.objects.create(
        run=run,
        dimension="operator",
        key=operator.unp,
        cohort="all",
        outbound_value_byn=1,
        returned_value_byn=0,
        unreturned_value_byn=1,
        pending_outbound_value_byn=0,
        pending_returned_value_byn=0,
        outbound_count=1,
    )
    client.force_login(user)
    pages = [
        reverse("dashboard"),
        reverse("queue"),
        reverse("operators:list"),
        reverse("operators:detail", args=[operator.pk]),
        reverse("audits:flag_list"),
        reverse("audits:flag_detail", args=[flag.pk]),
        reverse("filings:list"),
        reverse("filings:detail", args=[result.filing.pk]),
        reverse("outflows:stats") + "?dimension=operator",
        reverse("outflows:transfers"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert XSS not in response.content.decode(), url
    exports = [reverse("queue_export", args=["csv"]), reverse("operators:dossier_export", args=[operator.pk, "csv"])]
    for url in exports:
        text = client.get(url).getvalue().decode("utf-8-sig")
        for cell in text.replace("\r", "").replace("\n", ";").split(";"):  # ru: `;` between cells
            assert not cell.startswith(("=", "+", "-", "@")), (url, cell)
