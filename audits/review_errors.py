"""What a refused review action says to the user, in the page's language.

The services raise FlagTransitionError / ValidationError with a machine `code` and an English
message for the log and the API; pages and the admin show the code's sentence from here instead.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "reason_required": _("Укажите основание: без него решение не принимается."),
    "illegal_transition": _("Это действие недоступно для нарушения в текущем статусе."),
    "four_eyes_required": _(
        "Нарушение высокой или критической важности решают двое: предложите решение, второй аудитор его утвердит."
    ),
    "assignee_not_auditor": _("Назначить нарушение можно только аудитору."),
    "agency_unknown": _("Выберите ведомство из списка."),
    "note_empty": _("Заметка пуста."),
    "answer_empty": _("Ответ пуст."),
    "attachment_too_large": _("Файл больше 10 МБ."),
    "attachment_type": _("Файлы такого вида не принимаются."),
    "action_unknown": _("Неизвестное действие."),
    "proposal_pending": _("По этому нарушению уже есть предложение, ожидающее решения."),
    "proposal_decided": _("Это предложение уже рассмотрено."),
    "same_person": _("Автор предложения не может сам его утвердить или вернуть: решает второй аудитор."),
}
FALLBACK = _("Действие не выполнено.")


def review_error_message(exc: Exception) -> str:
    """The user's sentence for a refused action: by its code; a message the view wrote itself (already
    translated, no code) as it is; anything else a general refusal."""
    if isinstance(exc, PermissionDenied):
        return str(_("Недостаточно прав для этого действия."))
    if not isinstance(exc, ValidationError):
        return str(FALLBACK)
    sentences = []
    for error in exc.error_list if hasattr(exc, "error_list") else [exc]:
        if error.code in MESSAGES:
            sentences.append(str(MESSAGES[error.code]))
        elif error.code is None:
            sentences.extend(str(m) for m in ValidationError(error).messages)
        else:
            sentences.append(str(FALLBACK))
    return " ".join(dict.fromkeys(sentences)) or str(FALLBACK)
