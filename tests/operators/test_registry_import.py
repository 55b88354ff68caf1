"""Registry import (DESIGN section 3): valid files import; any bad row refuses the whole file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from operators.models import ForeignPlatform, Operator, OperatorStatusChange
from operators.registry import registry_import
from tests.audits.otp_login import login_verified
from tests.factories import OperatorFactory, supervisor

HEADER = "unp,name,htp_certificate_no,htp_certificate_valid_until,activity,status"
GOOD_ROW = '191234563,"ООО ""Крипто Обмен""",HTP-2019-0417,2027-12-31,exchange,active'
OTHER_GOOD_ROW = "190000020,ООО «Второй»,HTP-2020-0001,2026-12-31,miner,suspended"

pytestmark = pytest.mark.django_db


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def test_valid_file_creates_operators_with_status_history():
    result = registry_import(content=_csv(GOOD_ROW, OTHER_GOOD_ROW))
    assert result.ok, result.errors
    assert result.created == 2
    operator = Operator.objects.get(unp="191234563")
    assert operator.name == 'ООО "Крипто Обмен"'
    assert str(operator.htp_certificate_valid_until) == "2027-12-31"
    assert list(OperatorStatusChange.objects.filter(operator__unp="190000020").values_list("to_status", flat=True)) == [
        "suspended"
    ]


def test_reimport_updates_and_records_status_change():
    registry_import(content=_csv(GOOD_ROW))
    result = registry_import(content=_csv(GOOD_ROW.replace(",active", ",suspended")))
    assert result.ok
    assert result.updated == 1
    assert Operator.objects.get(unp="191234563").status == "suspended"
    change = OperatorStatusChange.objects.filter(operator__unp="191234563").order_by("-id").first()
    assert (change.from_status, change.to_status) == ("active", "suspended")


def test_optional_htp_registered_on_column_and_free_column_order():
    header = "status,activity,htp_registered_on,htp_certificate_valid_until,htp_certificate_no,name,unp"
    result = registry_import(
        content=_csv("active,custodian,2019-05-01,2027-01-01,HTP-1,Кастоди,191234563", header=header)
    )
    assert result.ok, result.errors
    assert str(Operator.objects.get(unp="191234563").htp_registered_on) == "2019-05-01"


def test_utf8_bom_is_accepted():
    assert registry_import(content=b"\xef\xbb\xbf" + _csv(GOOD_ROW)).ok


@pytest.mark.parametrize(
    ("bad_row", "column"),
    [
        (GOOD_ROW.replace("191234563", "191234564"), "unp"),  # wrong check digit
        (GOOD_ROW.replace(",exchange,", ",exchanger,"), "activity"),
        (GOOD_ROW.replace(",active", ",dormant"), "status"),
        (GOOD_ROW.replace("2027-12-31", "2027-02-30"), "htp_certificate_valid_until"),
    ],
)
def test_bad_row_is_listed_and_nothing_is_imported(bad_row, column):
    result = registry_import(content=_csv(OTHER_GOOD_ROW, bad_row))
    assert not result.ok
    assert [(e.row, e.column) for e in result.errors] == [(3, column)]
    assert not Operator.objects.exists()


def test_unp_checksum_is_validated_by_stdnum():
    result = registry_import(content=_csv(GOOD_ROW.replace("191234563", "123456789")))
    assert [e.column for e in result.errors] == ["unp"]
    assert "123456789" in result.errors[0].value


def test_every_bad_row_is_listed_at_once():
    rows = [GOOD_ROW.replace("191234563", "191234564"), OTHER_GOOD_ROW.replace(",miner,", ",wizard,")]
    result = registry_import(content=_csv(*rows))
    assert {(e.row, e.column) for e in result.errors} == {(2, "unp"), (3, "activity")}
    assert not Operator.objects.exists()


def test_duplicate_unp_is_refused_with_both_rows():
    result = registry_import(content=_csv(GOOD_ROW, GOOD_ROW.replace("HTP-2019-0417", "HTP-X")))
    assert [(e.row, e.code) for e in result.errors] == [(2, "duplicate_unp"), (3, "duplicate_unp")]
    assert not Operator.objects.exists()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER.replace(",status", ""), "missing columns: status"),
        (HEADER + ",comment", "unknown columns: comment"),
        (HEADER.replace("unp", "UNP"), "missing columns: unp"),
    ],
)
def test_wrong_header_is_refused(header, expected):
    result = registry_import(content=_csv(GOOD_ROW, header=header))
    assert not result.ok
    assert any(expected in e.message for e in result.errors)
    assert not Operator.objects.exists()


def test_wrong_encoding_is_refused():
    # UTF-16 is full of NUL bytes: refused as the filing intake refuses it.
    result = registry_import(content=_csv(GOOD_ROW).decode().encode("utf-16"))
    assert [e.code for e in result.errors] == ["not_text"]
    assert not Operator.objects.exists()


def _cp1251_semicolon(*rows: str) -> bytes:
    lines = [HEADER.replace(",", ";"), *rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


CP1251_ROW = '191234563;"ООО «Крипто; Обмен»";HTP-2019-0417;2027-12-31;exchange;active'


def test_windows_1251_semicolon_registry_csv_imports():
    result = registry_import(content=_cp1251_semicolon(CP1251_ROW))
    assert result.ok, result.errors
    assert Operator.objects.get(unp="191234563").name == "ООО «Крипто; Обмен»"


def test_tab_separated_registry_csv_imports():
    content = "\n".join([HEADER.replace(",", "\t"), OTHER_GOOD_ROW.replace(",", "\t")]).encode("utf-8")
    result = registry_import(content=content)
    assert result.ok, result.errors
    assert Operator.objects.get(unp="190000020").activity == "miner"


def test_a_file_mixing_utf8_and_windows_1251_is_refused_with_the_intake_code():
    content = _cp1251_semicolon(CP1251_ROW) + "190000020;ООО «Второй»;HTP-1;2026-12-31;miner;active\n".encode()
    result = registry_import(content=content)
    assert [e.code for e in result.errors] == ["mixed_encoding"]
    assert "Windows-1251" in result.errors[0].message
    assert not Operator.objects.exists()


def test_bad_row_of_a_windows_1251_file_is_listed_with_its_value():
    result = registry_import(content=_cp1251_semicolon(CP1251_ROW.replace("exchange", "обменник")))
    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "activity", "обменник")]
    assert not Operator.objects.exists()


def test_existing_operator_untouched_when_file_is_refused():
    OperatorFactory(unp="191234563", name="До импорта")
    result = registry_import(content=_csv(GOOD_ROW, OTHER_GOOD_ROW.replace(",miner,", ",wizard,")))
    assert not result.ok
    assert Operator.objects.get(unp="191234563").name == "До импорта"
    assert Operator.objects.count() == 1


def test_import_operators_command_uses_the_same_resource(tmp_path, capsys):
    good = tmp_path / "registry.csv"
    good.write_bytes(_csv(GOOD_ROW))
    call_command("import_operators", str(good))
    assert "created 1" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(OTHER_GOOD_ROW.replace(",miner,", ",wizard,")))
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_operators", str(bad))
    assert "row 2 [activity]" in capsys.readouterr().err
    assert Operator.objects.count() == 1


def test_xlsx_registry_file_is_accepted(tmp_path):
    import tablib

    dataset = tablib.Dataset(headers=HEADER.split(","))
    dataset.append(["191234563", "ООО Крипто", "HTP-1", "2027-12-31", "exchange", "active"])
    result = registry_import(content=dataset.export("xlsx"), file_format="xlsx")
    assert result.ok, result.errors
    assert Operator.objects.filter(unp="191234563").exists()


def test_xlsx_date_cells_and_number_cells_are_read_as_the_registry_expects():
    import datetime

    import tablib

    dataset = tablib.Dataset(headers=[*HEADER.split(","), "htp_registered_on"])
    dataset.append([191234563, "ООО Крипто", "HTP-1", datetime.date(2027, 12, 31), "exchange", "active", None])
    result = registry_import(content=dataset.export("xlsx"))
    assert result.ok, result.errors
    operator = Operator.objects.get(unp="191234563")
    assert str(operator.htp_certificate_valid_until) == "2027-12-31"
    assert operator.htp_registered_on is None


def test_import_operators_reads_a_windows_1251_semicolon_file(tmp_path, capsys):
    path = tmp_path / "реестр.csv"
    path.write_bytes(_cp1251_semicolon(CP1251_ROW, "190000020;ООО «Второй»;HTP-1;2026-12-31;miner;suspended"))
    call_command("import_operators", str(path))
    assert "created 2" in capsys.readouterr().out
    assert Operator.objects.get(unp="190000020").name == "ООО «Второй»"


def test_import_operators_refuses_a_file_over_the_registry_size_cap(tmp_path, settings):
    settings.REGISTRY_MAX_UPLOAD_BYTES = 100
    path = tmp_path / "registry.csv"
    path.write_bytes(_csv(GOOD_ROW, OTHER_GOOD_ROW))
    with pytest.raises(CommandError, match="REGISTRY_MAX_UPLOAD_BYTES"):
        call_command("import_operators", str(path))
    assert not Operator.objects.exists()


def test_admin_import_reads_a_windows_1251_semicolon_file_as_a_supervisor(client, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    login_verified(client, supervisor(username="sup"))
    upload = SimpleUploadedFile("реестр.csv", _cp1251_semicolon(CP1251_ROW), content_type="text/csv")
    dry_run = client.post(
        reverse("admin:operators_operator_import"), {"format": "0", "resource": "0", "import_file": upload}
    )
    assert dry_run.status_code == 200
    assert dry_run.context["form"].errors == {}
    assert not Operator.objects.exists()  # a preview imports nothing
    confirm = dry_run.context["confirm_form"]
    response = client.post(reverse("admin:operators_operator_process_import"), confirm.initial)
    assert response.status_code == 302
    assert Operator.objects.get(unp="191234563").name == "ООО «Крипто; Обмен»"


def test_admin_foreign_platform_xlsx_import_still_reads_what_openpyxl_read(client, settings):
    import tablib

    settings.OTP_REQUIRED_FOR_SCC = True
    login_verified(client, supervisor(username="sup"))
    dataset = tablib.Dataset(headers=["id", "slug", "name", "country", "verified", "high_risk"])
    dataset.append([None, "far-exchange", "Far Exchange", "SC", True, False])
    upload = SimpleUploadedFile("platforms.xlsx", dataset.export("xlsx"))
    url = reverse("admin:operators_foreignplatform_import")
    dry_run = client.post(url, {"format": "1", "resource": "0", "import_file": upload})
    assert dry_run.status_code == 200
    assert dry_run.context["form"].errors == {}
    confirm = dry_run.context["confirm_form"]
    response = client.post(reverse("admin:operators_foreignplatform_process_import"), confirm.initial)
    assert response.status_code == 302
    platform = ForeignPlatform.objects.get(slug="far-exchange")
    assert (platform.name, platform.country, platform.verified, platform.high_risk) == (
        "Far Exchange",
        "SC",
        True,
        False,
    )
