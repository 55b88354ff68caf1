"""filing_submit / filing_process: dry run, re-upload, supersession, idempotency, declared totals."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from filings.services import filing_process
from operators.models import FilingKind, FilingStatus, RegistrationFiling
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, TRANSFER_HEADER, UNP, submit, transfer_rows

pytestmark = pytest.mark.django_db


def test_dry_run_stores_nothing():
    operator = OperatorFactory()
    result = submit(operator, transfer_rows(20), dry_run=True)
    assert result.status == "valid"
    assert result.rows == 20
    assert result.filing is None
    assert RegistrationFiling.objects.count() == 0
    assert CrossBorderTransfer.objects.count() == 0


def test_dry_run_gives_the_same_report_as_a_submission():
    operator = OperatorFactory()
    bad = transfer_rows(3) + b"TX-000001,2025-03-05T10:00:00,OUT,inv,binance,AE,USDT,1,1\n"
    dry = submit(operator, bad, dry_run=True)
    real = submit(operator, bad)
    assert dry.status == real.status == FilingStatus.REJECTED
    assert [e.as_dict() for e in dry.errors] == [e.as_dict() for e in real.errors]
    assert RegistrationFiling.objects.count() == 1


def test_file_is_stored_byte_for_byte_with_its_sha256():
    operator = OperatorFactory()
    content = (SAMPLES / "191234563_transfer_register_2025-04_excel-ru.csv").read_bytes()
    result = submit(operator, content, start=date(2025, 4, 1), end=date(2025, 4, 30))
    filing = result.filing
    with filing.file.open("rb") as fh:
        assert fh.read() == content
    import hashlib

    assert filing.sha256 == hashlib.sha256(content).hexdigest()
    assert filing.due_date == date(2025, 5, 15)


def test_byte_identical_reupload_returns_the_existing_filing():
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(5))
    again = submit(operator, transfer_rows(5))
    assert again.existing is True
    assert again.filing.pk == first.filing.pk
    assert RegistrationFiling.objects.count() == 1
    assert CrossBorderTransfer.objects.count() == 5


def test_supersession_replaces_rows_atomically():
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(5)).filing
    second = submit(operator, transfer_rows(3, start=100)).filing
    first.refresh_from_db()
    assert second.status == FilingStatus.ACCEPTED
    assert first.status == FilingStatus.SUPERSEDED
    assert first.superseded_by_id == second.pk
    assert set(CrossBorderTransfer.objects.values_list("filing_id", flat=True)) == {second.pk}
    assert CrossBorderTransfer.objects.count() == 3


def test_rejected_later_filing_leaves_the_accepted_one_untouched():
    operator = OperatorFactory()
    first = submit(operator, transfer_rows(5)).filing
    bad = submit(operator, transfer_rows(3, start=100) + b"X,bad,OUT,i,binance,AE,USDT,1,1\n").filing
    first.refresh_from_db()
    assert bad.status == FilingStatus.REJECTED
    assert first.status == FilingStatus.ACCEPTED
    assert CrossBorderTransfer.objects.filter(filing=first).count() == 5
    assert CrossBorderTransfer.objects.count() == 5


def test_redelivered_task_does_not_import_twice():
    operator = OperatorFactory()
    filing = submit(operator, transfer_rows(5)).filing
    again = filing_process(filing_id=filing.pk)
    assert again.status == FilingStatus.ACCEPTED
    assert CrossBorderTransfer.objects.count() == 5
    # A redelivery of a task whose worker died mid-way (status left at processing) starts over, once.
    RegistrationFiling.objects.filter(pk=filing.pk).update(status=FilingStatus.PROCESSING)
    CrossBorderTransfer.objects.all().delete()
    filing_process(filing_id=filing.pk)
    filing_process(filing_id=filing.pk)
    assert CrossBorderTransfer.objects.count() == 5


def test_same_row_in_another_period_filing_is_not_counted_twice():
    operator = OperatorFactory()
    march = transfer_rows(4)
    submit(operator, march)
    # A quarterly re-send of the same rows (another period) repeats them unchanged.
    result = submit(
        operator, march + transfer_rows(2, start=50).split(b"\n", 1)[1], start=date(2025, 1, 1), end=date(2025, 3, 31)
    )
    assert result.status == FilingStatus.ACCEPTED, result.errors
    assert result.filing.rows_imported == 2
    assert result.filing.rows_skipped == 4
    assert CrossBorderTransfer.objects.count() == 6


def test_external_id_used_by_another_live_filing_with_different_content_is_an_error():
    operator = OperatorFactory()
    submit(operator, transfer_rows(4))
    changed = transfer_rows(4).replace(b"inv1,", b"inv9,")
    result = submit(operator, changed, start=date(2025, 1, 1), end=date(2025, 3, 31))
    assert result.status == FilingStatus.REJECTED
    assert {(e.row, e.code) for e in result.errors} == {(2, "external_id_conflict")}
    assert CrossBorderTransfer.objects.count() == 4


def test_other_operators_may_reuse_an_external_id():
    submit(OperatorFactory(), transfer_rows(3))
    result = submit(OperatorFactory(), transfer_rows(3))
    assert result.status == FilingStatus.ACCEPTED
    assert CrossBorderTransfer.objects.count() == 6


def test_declared_totals_mismatch_is_a_warning_and_still_accepted():
    operator = OperatorFactory()
    content = (SAMPLES / "191234563_transfer_register_2025-03.csv").read_bytes()
    result = submit(operator, content, declared_rows=5, declared_out_byn=Decimal("1.00"), declared_in_byn=None)
    assert result.status == FilingStatus.ACCEPTED
    [warning] = result.filing.warnings
    assert warning["code"] == "declared_totals_mismatch"
    assert warning["field"] == "declared_out_byn"
    assert Decimal(warning["actual"]) > 0


def test_matching_declared_totals_give_no_warning():
    operator = OperatorFactory()
    content = TRANSFER_HEADER + (
        "A,2025-03-05T10:00:00Z,OUT,i,binance,AE,USDT,1,100.10\nB,2025-03-06T10:00:00Z,IN,i,binance,AE,USDT,1,40.05\n"
    )
    result = submit(
        operator,
        content.encode(),
        declared_rows=2,
        declared_out_byn=Decimal("100.10"),
        declared_in_byn=Decimal("40.05"),
    )
    assert result.filing.warnings == []


def test_period_boundaries_are_minsk_calendar_dates():
    operator = OperatorFactory()
    content = TRANSFER_HEADER + (
        # 21:30 UTC on 31 March is 00:30 on 1 April in Minsk: outside March.
        "A,2025-03-31T21:30:00Z,OUT,i,binance,AE,USDT,1,1\n"
        # 21:30 UTC on 28 February is 00:30 on 1 March in Minsk: inside.
        "B,2025-02-28T21:30:00Z,OUT,i,binance,AE,USDT,1,1\n"
    )
    result = submit(operator, content.encode())
    assert [(e.row, e.code) for e in result.errors] == [(2, "outside_period")]


def test_import_filing_command_exit_codes_and_json(tmp_path, capsys):
    OperatorFactory(unp=UNP)
    good = SAMPLES / "191234563_transfer_register_2025-03.csv"
    args = [
        "import_filing",
        "--operator",
        UNP,
        "--kind",
        "transfer_register",
        "--period-start",
        "2025-03-01",
        "--period-end",
        "2025-03-31",
    ]
    call_command(*args, "--json", "--dry-run", str(good))
    out = json.loads(capsys.readouterr().out)
    assert out == {"filing": None, "status": "valid", "rows": 5, "errors": []}
    call_command(*args, "--json", str(good))
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "accepted"
    assert out["rows"] == 5
    assert RegistrationFiling.objects.get(pk=out["filing"]).kind == FilingKind.TRANSFER_REGISTER
    bad = tmp_path / "bad.csv"
    bad.write_bytes(TRANSFER_HEADER.encode() + b"A,2025-03-05T10:00:00,OUT,i,binance,AE,USDT,1,1\n")
    with pytest.raises(SystemExit) as exit_info:
        call_command(*args, "--json", str(bad))
    assert exit_info.value.code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "rejected"
    assert out["errors"] == [
        {
            "row": 2,
            "column": "occurred_at",
            "value": "2025-03-05T10:00:00",
            "code": "datetime_no_offset",
            "message": out["errors"][0]["message"],
        }
    ]
    assert set(out["errors"][0]) == {"row", "column", "value", "code", "message"}


def test_import_filing_command_as_a_process(tmp_path, transactional_db):
    """Exit status 0/1 as a shell sees it (call_command cannot show that)."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    OperatorFactory(unp=UNP)
    db = settings.DATABASES["default"]
    env = dict(
        os.environ,
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        MEDIA_ROOT=str(tmp_path),
    )
    base = [
        sys.executable,
        "manage.py",
        "import_filing",
        "--operator",
        UNP,
        "--kind",
        "transfer_register",
        "--period-start",
        "2025-03-01",
        "--period-end",
        "2025-03-31",
        "--dry-run",
    ]
    ok = subprocess.run(
        [*base, str(SAMPLES / "191234563_transfer_register_2025-03.csv")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    rejected = subprocess.run([*base, str(bad)], env=env, capture_output=True, text=True, check=False)
    assert rejected.returncode == 1
    assert "empty_file" in rejected.stdout
