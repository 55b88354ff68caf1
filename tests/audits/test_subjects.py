"""Flag subjects, rule titles and labels in the reader's language (issue 16, item 1). No database: the
flags and rules are unsaved objects, as the renderer only reads them."""

import re

import pytest
from django.utils import translation

from auditlog.labels import EVENT_LABELS, event_label
from audits.models import Flag, FlagStatus, Rule
from audits.review_errors import review_error_message
from audits.services.review import FlagTransitionError
from audits.subjects import flag_subject
from operators.labels import country_name
from operators.models import FilingStatus

EVIDENCE = {
    "MISSING_FILING": {"kind": "transfer_register", "period_start": "2026-01-01", "period_end": "2026-01-31"},
    "LATE_FILING": {"filing": 12, "kind": "client_register", "period_start": "2026-01-01", "period_end": "2026-03-31"},
    "REJECTED_NOT_RESUBMITTED": {"kind": "operator_profile", "period_start": "2026-01-01", "period_end": "2026-12-31"},
    "DECLARED_TOTALS_MISMATCH": {
        "filing": 7,
        "kind": "transfer_register",
        "period_start": "2026-02-01",
        "period_end": "2026-02-28",
    },
    "PROFILE_MISMATCH": {"filing": 9, "differences": {"name": {"filed": "A", "registry": "B"}}},
    "CERTIFICATE_EXPIRED": {"htp_certificate_valid_until": "2025-12-31", "operator_status": "active"},
    "UNREGISTERED_CLIENT": {"transfer_count": 3, "value_byn": "10.00"},
    "UNKNOWN_PLATFORM": {"platform": "exmo", "country": "GB", "transfer_count": 2},
    "HIGH_RISK_JURISDICTION": {"country": "IR", "list": "call_for_action", "transfer_count": 1},
    "HIGH_NON_RETURN": {"run": 5, "non_return_share": "0.61", "threshold": "0.5"},
}
# The words a subject must show in each language (its data) and the codes it must not.
EXPECTED = {
    "ru": {
        "MISSING_FILING": "Реестр переводов за 01.01.2026–31.01.2026",
        "LATE_FILING": "Реестр клиентов за 01.01.2026–31.03.2026, отчёт №12",
        "UNKNOWN_PLATFORM": "Непроверенная платформа Exmo (Соединённое Королевство)",
        "HIGH_RISK_JURISDICTION": "Переводы в страну Иран",
        "CERTIFICATE_EXPIRED": "Свидетельство ПВТ истекло 31.12.2025, оператор действует",
        "HIGH_NON_RETURN": "Доля невозврата 61,0",
        "PROFILE_MISMATCH": "расходятся: наименование",
    },
    "en": {
        "MISSING_FILING": "Transfer register for 01.01.2026–31.01.2026",
        "UNKNOWN_PLATFORM": "Unverified platform Exmo (United Kingdom)",
        "HIGH_NON_RETURN": "Non-return share 61.0%",
    },
    "be": {
        "MISSING_FILING": "Рэестр пераводаў за 01.01.2026–31.01.2026",
        "UNKNOWN_PLATFORM": "Неправераная платформа Exmo (Злучанае Каралеўства)",
        "HIGH_RISK_JURISDICTION": "Пераводы ў краіну Іран",
    },
}
CODES = re.compile(r"\b(transfer_register|client_register|operator_profile|call_for_action|GB|IR|active)\b")


def _flag(code: str) -> Flag:
    rule = Rule(pk=1, code=code, title="Русское название", title_en="English title", title_be="Беларуская назва")
    return Flag(rule=rule, evidence=EVIDENCE[code], subject="unverified platform exmo (GB)")


@pytest.mark.parametrize("language", ["ru", "en", "be"])
@pytest.mark.parametrize("code", sorted(EVIDENCE))
def test_a_subject_is_rendered_from_the_evidence_in_the_readers_language(code, language):
    with translation.override(language):
        text = flag_subject(_flag(code), platform_names={"exmo": "Exmo"})
    assert text
    assert "unverified platform" not in text
    assert not CODES.search(text.replace("operator is active", "")), text
    if code in EXPECTED[language]:
        assert EXPECTED[language][code] in text
    if language in ("ru", "be"):
        assert not re.search(r"[A-Za-z]{3,}", text.replace("Exmo", "").replace("FATF", "")), text


@pytest.mark.parametrize(
    ("language", "title"), [("ru", "Русское название"), ("en", "English title"), ("be", "Беларуская назва")]
)
def test_a_rule_is_named_in_the_readers_language_russian_when_missing(language, title):
    rule = Rule(code="LATE_FILING", title="Русское название", title_en="English title", title_be="Беларуская назва")
    with translation.override(language):
        assert rule.label == title == str(rule)
    with translation.override(language):
        assert Rule(code="X", title="Только русский").label == "Только русский"


def test_countries_by_name():
    assert country_name("GB", "ru") == "Соединённое Королевство"
    assert country_name("GB", "be") == "Злучанае Каралеўства"
    assert country_name("GB", "en") == "United Kingdom"
    assert country_name("XX", "ru") == "XX"


@pytest.mark.parametrize("language", ["ru", "be"])
def test_every_audit_event_has_a_name(language):
    with translation.override(language):
        for action in [*EVENT_LABELS, "flag.something_new"]:
            assert not re.search(r"[A-Za-z]{3,}", event_label(action).replace("API", "")), action


@pytest.mark.parametrize(("language", "expected"), [("ru", "Укажите основание"), ("be", "Пакажыце падставу")])
def test_a_refused_dismissal_says_why_in_the_readers_language(language, expected):
    error = FlagTransitionError("a reason is required to dismiss a flag", code="reason_required")
    with translation.override(language):
        assert review_error_message(error).startswith(expected)


def test_a_dismissed_flag_is_not_a_rejected_filing_in_english():
    with translation.override("en"):
        assert (str(FlagStatus.DISMISSED.label), str(FilingStatus.REJECTED.label)) == ("Dismissed", "Rejected")
    with translation.override("ru"):
        assert str(FlagStatus.DISMISSED.label) == str(FilingStatus.REJECTED.label) == "Отклонён"
