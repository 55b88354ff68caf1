"""Operators submit filings over the API: 202 with the filing URL, dry run 200 with the report, 404, 413, 400."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from operators.models import RegistrationFiling
from tests.api.conftest import TRANSFER_CSV, client_with

BAD_CSV = (
    b"external_id,occurred_at,direction,investor_ref,platform,platform_country,asset,amount,value_byn\n"
    b"TX-1,2025-03-05T10:00:00,SIDEWAYS,inv1,binance,AE,usdt,-1,33.25\n"
)


def form(content: bytes = TRANSFER_CSV, **extra) -> dict:
    data = {
        "kind": "transfer_register",
        "period_start": "2025-03-01",
        "period_end": "2025-03-31",
        "declared_rows": "1",
        "file": SimpleUploadedFile("march.csv", content),
    }
    data.update(extra)
    return data


def test_submit_answers_202_with_the_filing_url(world):
    client = client_with(world.keys["operator_a"])
    before = RegistrationFiling.objects.count()
    response = client.post("/api/v1/filings/", form(), format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "received"
    assert body["existing"] is False
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/filings/{body['filing']}/")
    filing = RegistrationFiling.objects.get(pk=body["filing"])
    assert RegistrationFiling.objects.count() == before + 1
    assert (filing.operator, filing.submitted_by, filing.declared_rows) == (world.op_a, world.staff_a, 1)
    assert filing.file.read() == TRANSFER_CSV  # kept byte for byte
    detail = client.get(body["url"])
    assert detail.status_code == 200
    assert detail.json()["sha256"] == filing.sha256
    # The same bytes again: the existing filing, not a second one.
    again = client.post("/api/v1/filings/", form(), format="multipart")
    assert again.status_code == 202
    assert (again.json()["filing"], again.json()["existing"]) == (filing.pk, True)


def test_dry_run_answers_200_with_the_error_report_and_stores_nothing(world):
    client = client_with(world.keys["operator_a"])
    before = RegistrationFiling.objects.count()
    response = client.post("/api/v1/filings/?dry_run=1", form(BAD_CSV), format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected"
    codes = {e["code"] for e in body["errors"]}
    assert {"datetime_no_offset", "invalid_direction", "invalid_asset", "amount_not_positive"} <= codes
    assert all(e["row"] == 2 and e["message"] for e in body["errors"])
    assert RegistrationFiling.objects.count() == before
    valid = client.post("/api/v1/filings/?dry_run=1", form(), format="multipart")
    assert (valid.status_code, valid.json()["status"], valid.json()["rows"]) == (200, "valid", 1)


def test_another_operators_filing_is_404_and_nothing_is_stored(world):
    before = RegistrationFiling.objects.count()
    response = client_with(world.keys["operator_b"]).post(
        "/api/v1/filings/", form(operator=str(world.op_a.pk)), format="multipart"
    )
    assert response.status_code == 404
    assert RegistrationFiling.objects.count() == before


def test_too_large_upload_is_413(world, settings):
    settings.FILING_MAX_UPLOAD_BYTES = 100
    client = client_with(world.keys["operator_a"])
    response = client.post("/api/v1/filings/", form(TRANSFER_CSV + b"x" * 200), format="multipart")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    # Far over the limit: refused on the declared Content-Length, before the body is read.
    response = client.post("/api/v1/filings/", form(b"x" * 200_000), format="multipart")
    assert response.status_code == 413
    assert RegistrationFiling.objects.filter(operator=world.op_a).count() == 1  # the world's own


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "poem"}, "kind"),
        ({"period_start": "2025-02-30"}, "period_start"),
        ({"period_end": "2025-02-01"}, "period_end"),
        ({"declared_rows": "-3"}, "declared_rows"),
        ({"declared_out_byn": "1.234"}, "declared_out_byn"),
        ({"operator": "abc"}, "operator"),
        ({"file": ""}, "file"),
    ],
)
def test_bad_form_is_400_with_field_errors(world, changes, field):
    response = client_with(world.keys["operator_a"]).post("/api/v1/filings/", form(**changes), format="multipart")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == 400
    assert field in body["errors"]


def test_json_body_is_415_not_500(world):
    response = client_with(world.keys["operator_a"]).post("/api/v1/filings/", {"kind": "x"}, format="json")
    assert response.status_code == 415
    assert response.json()["status"] == 415


def test_staff_of_several_operators_must_name_one(world):
    from operators.models import OperatorMembership

    OperatorMembership.objects.create(user=world.staff_a, operator=world.op_b)
    client = client_with(world.keys["operator_a"])  # the token is tied to operator A: no ambiguity
    assert client.post("/api/v1/filings/?dry_run=1", form(), format="multipart").status_code == 200
    client.force_authenticate(world.staff_a)  # a session-like caller acting for both
    client.credentials()
    response = client.post("/api/v1/filings/?dry_run=1", form(), format="multipart")
    assert response.status_code == 400
    assert "operator" in response.json()["errors"]
    response = client.post("/api/v1/filings/?dry_run=1", form(operator=str(world.op_b.pk)), format="multipart")
    assert response.status_code == 200
