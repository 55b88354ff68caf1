"""Hostile XLSX files given to the supervisors' registry import (issue 14, item 2, follow-up).

The registry import (`manage.py import_operators` and the admin's import form)
used to hand an XLSX to tablib/openpyxl whole: the far-cell sheet and the
shared-strings bomb of issue 14 stalled it as they stalled the filing intake.
Both now go through the intake's bounded reader and are refused at once, in
bounded memory, with the intake's own codes; nothing is imported.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from operators.models import ForeignPlatform, Operator
from tests.audits.otp_login import login_verified
from tests.factories import supervisor
from tests.faults.test_hostile_xlsx import FAST_SECONDS, bounded_memory, far_cell, shared_strings, within

pytestmark = [pytest.mark.abuse, pytest.mark.django_db]

EXPECTED = {
    "far_cell": "xlsx_dimension_too_large",
    "shared_strings": "xlsx_shared_strings_too_many",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("hostile-registry")
    files = {"far_cell": far_cell(folder / "far.xlsx"), "shared_strings": shared_strings(folder / "sst.xlsx")}
    return {name: path.read_bytes() for name, path in files.items()}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_import_operators_refuses_each_hostile_file_at_once_with_its_code(hostile, name, tmp_path, capsys):
    path = tmp_path / "registry.xlsx"
    path.write_bytes(hostile[name])
    with within(FAST_SECONDS), bounded_memory(), pytest.raises(CommandError, match="nothing imported"):
        call_command("import_operators", str(path))
    assert f"({EXPECTED[name]})" in capsys.readouterr().err
    assert not Operator.objects.exists()


@pytest.fixture
def sup_client(client, settings):
    settings.OTP_REQUIRED_FOR_SCC = True
    login_verified(client, supervisor(username="sup"))
    return client


# The format chosen in the form does not matter: the content is read as what it is.
@pytest.mark.parametrize("chosen", ["1", "0"], ids=["as-xlsx", "as-csv"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_admin_import_refuses_each_hostile_file_at_once_with_its_code(sup_client, hostile, name, chosen):
    upload = SimpleUploadedFile(
        "registry.xlsx", hostile[name], content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    with within(FAST_SECONDS), bounded_memory():
        response = sup_client.post(
            reverse("admin:operators_operator_import"), {"format": chosen, "resource": "0", "import_file": upload}
        )
    assert response.status_code == 200
    errors = response.context["form"].errors["import_file"]
    assert any(f"({EXPECTED[name]})" in error for error in errors), errors
    assert "confirm_form" not in response.context
    assert f"({EXPECTED[name]})" in response.content.decode()
    assert not Operator.objects.exists()


def test_admin_import_refuses_an_upload_over_the_registry_size_cap_before_reading_it(sup_client, settings):
    settings.REGISTRY_MAX_UPLOAD_BYTES = 1024
    upload = SimpleUploadedFile("registry.csv", b"unp,name\n" + b"1,x\n" * 1000, content_type="text/csv")
    response = sup_client.post(
        reverse("admin:operators_operator_import"), {"format": "0", "resource": "0", "import_file": upload}
    )
    assert response.status_code == 200
    assert any("file_too_large" in error for error in response.context["form"].errors["import_file"])
    assert "confirm_form" not in response.context


def test_admin_foreign_platform_import_refuses_the_far_cell_file_with_its_code(sup_client, hostile):
    upload = SimpleUploadedFile("platforms.xlsx", hostile["far_cell"])
    with within(FAST_SECONDS), bounded_memory():
        response = sup_client.post(
            reverse("admin:operators_foreignplatform_import"), {"format": "1", "resource": "0", "import_file": upload}
        )
    assert response.status_code == 200
    errors = response.context["form"].errors["import_file"]
    assert any("(xlsx_dimension_too_large)" in error for error in errors), errors
    assert not ForeignPlatform.objects.exists()
