"""Every sample filing of ../shared/samples is accepted with the right row counts."""

from datetime import date
from decimal import Decimal

import pytest

from operators.models import ClientRecord, FilingStatus, ForeignPlatform, OperatorProfileRecord
from outflows.models import CrossBorderTransfer
from tests.factories import OperatorFactory
from tests.filings.intake_helpers import SAMPLES, UNP, submit

pytestmark = pytest.mark.django_db

CASES = [
    ("191234563_transfer_register_2025-03.csv", "transfer_register", date(2025, 3, 1), date(2025, 3, 31), 5),
    ("191234563_transfer_register_2025-04_excel-ru.csv", "transfer_register", date(2025, 4, 1), date(2025, 4, 30), 2),
    # the optional counterparty_wallet column (issue 19): accepted, read by the screening, not stored on transfers
    ("191234563_transfer_register_2025-05_wallets.csv", "transfer_register", date(2025, 5, 1), date(2025, 5, 31), 3),
    ("191234563_client_register_2025-Q1.csv", "client_register", date(2025, 1, 1), date(2025, 3, 31), 2),
    ("191234563_operator_profile_2024.csv", "operator_profile", date(2024, 1, 1), date(2024, 12, 31), 1),
    ("191234563_operator_profile_2024_excel-ru.csv", "operator_profile", date(2024, 1, 1), date(2024, 12, 31), 1),
]


@pytest.mark.parametrize(("name", "kind", "start", "end", "rows"), CASES)
def test_sample_is_accepted_with_its_row_count(name, kind, start, end, rows):
    operator = OperatorFactory(unp=UNP)
    result = submit(operator, (SAMPLES / name).read_bytes(), kind=kind, start=start, end=end, name=name)
    assert result.errors == []
    assert result.status == FilingStatus.ACCEPTED
    assert result.rows == rows
    filing = result.filing
    assert filing.rows_imported == rows
    model = {
        "transfer_register": CrossBorderTransfer,
        "client_register": ClientRecord,
        "operator_profile": OperatorProfileRecord,
    }[kind]
    assert model.objects.filter(filing=filing).count() == rows


def test_excel_ru_register_reads_decimal_comma_and_mixed_case_platform():
    operator = OperatorFactory(unp=UNP)
    name = "191234563_transfer_register_2025-04_excel-ru.csv"
    submit(operator, (SAMPLES / name).read_bytes(), start=date(2025, 4, 1), end=date(2025, 4, 30))
    rows = {t.external_id: t for t in CrossBorderTransfer.objects.select_related("platform")}
    assert rows["TX-2025-04-0002"].value_byn == Decimal("1301.63")
    assert rows["TX-2025-04-0002"].amount == Decimal("400.50")
    assert {t.platform.slug for t in rows.values()} == {"binance"}
    assert ForeignPlatform.objects.get(slug="binance").verified is False  # unknown platforms arrive unverified


def test_cyrillic_profile_from_both_encodings_reads_the_same():
    operator = OperatorFactory(unp=UNP)
    seen = []
    for name in ("191234563_operator_profile_2024.csv", "191234563_operator_profile_2024_excel-ru.csv"):
        result = submit(
            operator,
            (SAMPLES / name).read_bytes(),
            kind="operator_profile",
            start=date(2024, 1, 1),
            end=date(2024, 12, 31),
        )
        record = OperatorProfileRecord.objects.get(filing=result.filing)
        seen.append((record.name, record.legal_address, record.aml_officer))
    assert seen[0] == seen[1] == ('ООО "Крипто Обмен"', "220030, г. Минск, ул. Примерная, 1", "Иванова Анна Сергеевна")
