"""Evidence in the reader's language: the names of the keys the rules write that the evidence table
(audits/templatetags/evidence.py, LABELS) does not name itself, and the values that are codes
(a filing kind, a high-risk list, an operator status or activity, a country, where a figure came from)."""

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _

from audits.models import HighRiskList
from operators.labels import choice_label, country_name
from operators.models import Activity, FilingKind, Operator, OperatorStatus

KEY_LABELS = {
    "days_since_expiry": _("Дней после истечения"),
    "operator_status": _("Статус оператора"),
    "as_of": _("Расчёт на дату"),
    "window_days": _("Окно, дней"),
    "outbound_value_byn": _("Выведено (созревшие), BYN"),
    "returned_value_byn": _("Вернулось, BYN"),
    "unreturned_value_byn": _("Не вернулось, BYN"),
    "pending_outbound_value_byn": _("Ещё не созрели, BYN"),
    "outbound_count": _("Переводов на вывод"),
    # DECLARED_TOTALS_MISMATCH: what differs, and how.
    "rows": _("Строк"),
    "out_byn": _("Сумма вывода за рубеж, BYN"),
    "in_byn": _("Сумма возврата, BYN"),
    "declared": _("заявлено"),
    "actual": _("фактически"),
    "difference": _("разница"),
    "source": _("источник"),
    # PROFILE_MISMATCH: the profile filed against the registry.
    "filed": _("в отчёте"),
    "registry": _("в реестре"),
    # HIGH_NON_RETURN's bootstrap interval and NON_RETURN_TREND (issue 17).
    "interval_low_share": _("Нижняя граница интервала"),
    "interval_high_share": _("Верхняя граница интервала"),
    "confidence_share": _("Уровень доверия"),
    "bootstrap_resamples": _("Повторных выборок"),
    "outbound_investors": _("Инвесторов с выводом"),
    "cohort": _("Когорта (месяц вывода)"),
    "previous_run": _("Предыдущий расчёт"),
    "previous_as_of": _("Предыдущий расчёт на дату"),
    "previous_non_return_share": _("Доля невозврата в предыдущем расчёте"),
    "previous_outbound_value_byn": _("Выведено (созревшие) в предыдущем расчёте, BYN"),
    "change_points": _("Изменение, п. п."),
    "points": _("Порог, п. п."),
    # UNREGISTERED_CLIENT: which case applies.
    "case": _("Случай"),
    "missing_registers": _("Реестры клиентов не поданы за периоды"),
    "missing_until": _("Последний период без реестра до"),
}
SOURCES = {"intake": _("строки файла"), "transfers": _("загруженные переводы")}
CASES = {
    "not_in_register": _("инвестора нет в поданном реестре клиентов на дату перевода"),
    "register_missing": _("реестр клиентов за период перевода не подан в срок: все инвесторы не зарегистрированы"),
}


def key_label(key: str) -> str:
    """An evidence key's name: from KEY_LABELS, else the registry field it is named after, else the key."""
    if key in KEY_LABELS:
        return str(KEY_LABELS[key])
    try:
        return str(Operator._meta.get_field(key).verbose_name)
    except FieldDoesNotExist:
        return str(key)


def value_label(key: str, value) -> str | None:
    """A code value by its name ('transfer_register' -> 'Реестр переводов'); None when it is not a code."""
    if not isinstance(value, str) or not value:
        return None
    if key == "kind":
        return choice_label(FilingKind, value)
    if key == "list":
        return choice_label(HighRiskList, value)
    if key in ("operator_status", "status") and value in OperatorStatus.values:
        return choice_label(OperatorStatus, value)
    if key == "activity" and value in Activity.values:
        return choice_label(Activity, value)
    if key == "country":
        return country_name(value)
    if key == "source" and value in SOURCES:
        return str(SOURCES[value])
    if key == "case" and value in CASES:
        return str(CASES[value])
    return None
