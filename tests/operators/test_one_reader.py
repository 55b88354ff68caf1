"""One reader, one row numbering, one RowError for the registry import and the filing intake (issue 15, item 5)."""

import csv

import pytest

from operators.registry import registry_import
from operators.registry_file import RegistryFileRefused, registry_dataset
from operators.tabular.errors import RowError
from operators.tabular.reader import FIRST_DATA_ROW, FileRejected, numbered
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import TRANSFER_HEADER, submit, transfer_rows

HEADER = "unp,name,htp_certificate_no,htp_certificate_valid_until,activity,status"
GOOD_ROW = "191234563,ООО «Первый»,HTP-2019-0417,2027-12-31,exchange,active"
OTHER_GOOD_ROW = "190000020,ООО «Второй»,HTP-2020-0001,2026-12-31,miner,suspended"


def test_rows_are_numbered_as_the_spreadsheet_numbers_them():
    assert list(numbered([["a"], [], ["b"]])) == [(2, ["a"]), (3, []), (4, ["b"])]
    assert FIRST_DATA_ROW == 2

    def broken():
        yield ["a"]
        raise csv.Error("unexpected end of data")

    with pytest.raises(FileRejected) as refused:
        list(numbered(broken()))
    assert (refused.value.error.row, refused.value.error.code) == (3, "csv_syntax")


def test_registry_errors_are_the_intakes_row_errors():
    with pytest.raises(RegistryFileRefused) as refused:
        registry_dataset(content=b"%PDF-1.4 \x00\x01")
    [error] = refused.value.errors
    assert type(error) is RowError
    assert error.code == "not_text"
    assert error.message == f"{error.message_ru} / {error.message_en}"
    assert error.as_dict()["message"].startswith("Файл не является CSV или XLSX")


def test_a_registry_message_not_in_the_table_is_kept():
    error = RowError(3, "unp", "x", "duplicate_unp", "УНП повторяется в файле / duplicate UNP")
    assert (error.message_ru, error.message_en) == ("УНП повторяется в файле", "duplicate UNP")
    assert error.as_dict()["message"] == "УНП повторяется в файле / duplicate UNP"


@pytest.mark.django_db
def test_registry_rows_after_a_blank_line_keep_their_spreadsheet_numbers():
    content = "\n".join([HEADER, GOOD_ROW, "", OTHER_GOOD_ROW.replace("miner", "bank"), GOOD_ROW]) + "\n"
    result = registry_import(content=content.encode())
    assert {(e.row, e.code) for e in result.errors} == {(2, "duplicate_unp"), (5, "duplicate_unp")}
    result = registry_import(content=content.rsplit(GOOD_ROW, 1)[0].encode())
    assert [(e.row, e.column) for e in result.errors] == [(4, "activity")]


@pytest.mark.django_db
def test_a_broken_csv_record_is_reported_at_its_own_row_on_the_copy_path():
    content = transfer_rows(2) + b'TX-9,"2025-03-05T10:00:00+03:00,OUT,inv1\n'
    result = submit(OperatorFactory(), content)
    assert [(e.row, e.code) for e in result.errors] == [(4, "csv_syntax")]
    result = submit(OperatorFactory(), (TRANSFER_HEADER + 'TX-1,"2025-03-05T10:00:00+03:00,OUT,inv1\n').encode())
    assert [(e.row, e.code) for e in result.errors] == [(2, "csv_syntax")]
