"""The audit log's event names as a reader says them, in the page's language (the code stays in the log)."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

EVENT_LABELS = {
    "flag.opened": _("Нарушение открыто"),
    "flag.assign": _("Назначено аудитору"),
    "flag.take": _("Взято в работу"),
    "flag.confirm": _("Подтверждено"),
    "flag.dismiss": _("Отклонено аудитором"),
    "flag.refer": _("Передано в ведомство"),
    "flag.reopen": _("Возвращено на рассмотрение"),
    "flag.note": _("Заметка"),
    "flag.answer": _("Ответ оператора"),
    "flag.cleared": _("Снято: условие исчезло"),
    "flag.reopened_by_scan": _("Открыто снова проверкой"),
    "flag.escalated": _("Передано руководителю (просрочено)"),
    "flag.propose": _("Решение предложено (нужен второй)"),
    "flag.proposal_approved": _("Решение утверждено вторым"),
    "flag.proposal_returned": _("Предложение возвращено"),
    "scan.requested": _("Проверка запрошена"),
    "scan.finished": _("Проверка завершена"),
    "rule.version_seeded": _("Версия 1 правила создана"),
    "rule.version_drafted": _("Черновик версии правила"),
    "rule.version_backtest_requested": _("Проверка версии правила на истории запрошена"),
    "rule.version_backtest_finished": _("Проверка версии правила на истории завершена"),
    "rule.version_backtest_failed": _("Ошибка проверки версии правила на истории"),
    "rule.version_published": _("Версия правила опубликована"),
    "export.transfers": _("Выгрузка переводов"),
    "export.queue": _("Выгрузка очереди"),
    "export.outflow_stats": _("Выгрузка показателей невозврата"),
    "export.outflow_drilldown": _("Выгрузка переводов ячейки невозврата"),
    "export.filing_errors": _("Выгрузка ошибок отчёта"),
    "export.dossier": _("Выгрузка досье"),
    "export.dry_run_errors": _("Выгрузка ошибок проверки"),
    "export.operators": _("Выгрузка реестра операторов"),
    "api.export.transfers": _("API: выгрузка переводов"),
    "export.flags": _("Выгрузка нарушений"),
    "export.registry": _("Выгрузка реестра операторов"),
    "filing.file_read": _("Просмотр файла отчёта"),
    "auth.login_failed": _("Неудачный вход"),
    "auth.locked_out": _("Вход заблокирован"),
    "auth.two_factor_setup": _("Подключён вход с кодом"),
    "auth.two_factor": _("Вход с кодом"),
    "auth.two_factor_failed": _("Неверный код входа"),
    "auth.api_token_failures": _("Ошибки API-токена"),
    "access.refused": _("Отказ в доступе"),
    "admin.add": _("Добавлено в администрировании"),
    "admin.change": _("Изменено в администрировании"),
    "admin.delete": _("Удалено в администрировании"),
    "admin.import": _("Импорт в администрировании"),
    "admin.export": _("Выгрузка в администрировании"),
    "api.pull.filings": _("API: выдача отчётов"),
    "api.pull.transfers": _("API: выдача переводов"),
    "api.pull.outflow_drilldown": _("API: переводы ячейки невозврата"),
    "api.pull.outflow_run_filings": _("API: отчёты, прочитанные расчётом"),
    "api.pull.referrals": _("API: список пакетов передачи"),
    "api.download.referrals": _("API: выдача пакета передачи"),
    "referral.package": _("Собран пакет передачи"),
    "referral.download": _("Скачан пакет передачи"),
    "operator.refer": _("Материалы по оператору переданы в ведомство"),
    "message.post": _("Сообщение отправлено"),
    "message.broadcast": _("Уведомление разослано операторам"),
    "message.attachment_read": _("Скачано вложение сообщения"),
    "data_request.close": _("Запрос данных закрыт"),
    "screening.list_import": _("Загружена версия санкционного списка"),
    "screening.hit_opened": _("Совпадение со санкционным списком"),
    "screening.hit_reopened": _("Совпадение снова открыто: запись списка изменилась"),
    "screening.hit_confirm": _("Совпадение со списком подтверждено"),
    "screening.hit_dismiss": _("Совпадение признано ложным"),
}
# An event not named above is said by its family.
FAMILY_LABELS = {
    "flag": _("Действие с нарушением"),
    "scan": _("Проверка"),
    "export": _("Выгрузка"),
    "filing": _("Отчёт"),
    "auth": _("Вход"),
    "access": _("Доступ"),
    "admin": _("Администрирование"),
    "api": _("API"),
    "referral": _("Пакет передачи"),
    "message": _("Сообщение"),
    "data_request": _("Запрос данных"),
    "screening": _("Санкционный скрининг"),
}


def event_label(action: str) -> str:
    """'flag.opened' -> 'Нарушение открыто' (in the active language); an unknown event by its family."""
    if not action:
        return ""
    if action in EVENT_LABELS:
        return str(EVENT_LABELS[action])
    family = action.partition(".")[0]
    return str(FAMILY_LABELS[family]) if family in FAMILY_LABELS else gettext("Событие")
