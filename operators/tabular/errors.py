"""Error records of a filing: what is wrong, where (as the operator's spreadsheet numbers it), why."""

from dataclasses import dataclass

from django.utils.translation import get_language, gettext

from config.spreadsheets import visible

# Machine code -> (Russian, English). One place, so the page, the report and the
# command line all say the same thing.
MESSAGES: dict[str, tuple[str, str]] = {
    "file_too_large": ("Файл больше допустимого размера", "The file is larger than allowed"),
    "empty_file": ("Файл пуст", "The file is empty"),
    "header_only": ("В файле только заголовок, нет ни одной строки данных", "The file has a header but no data rows"),
    "not_text": (
        "Файл не является CSV или XLSX (двоичные данные, например PDF)",
        "The file is not CSV or XLSX (binary data, e.g. a PDF)",
    ),
    "mixed_encoding": (
        "В файле смешаны кодировки UTF-8 и Windows-1251; сохраните его в одной кодировке",
        "The file mixes UTF-8 and Windows-1251; save it in one encoding",
    ),
    "bad_xlsx": ("Файл XLSX повреждён или не читается", "The XLSX file is damaged or unreadable"),
    "xlsx_too_large": (
        "XLSX после распаковки слишком велик (возможна zip-бомба); файл не читался",
        "The XLSX would unpack to too much data (possible zip bomb); it was not read",
    ),
    "line_too_long": ("Строка файла слишком длинная", "A line of the file is too long"),
    "xlsx_inflated_too_large": (
        "XLSX распаковывается в слишком большой объём (возможна zip-бомба); файл не читался",
        "The XLSX inflates to too much data (possible zip bomb); it was not read",
    ),
    "xlsx_dimension_too_large": (
        "Лист XLSX объявляет или содержит ячейки за пределами допустимых строк и столбцов",
        "The XLSX sheet declares or holds cells beyond the allowed rows and columns",
    ),
    "xlsx_too_many_cells": ("В листе XLSX слишком много ячеек", "The XLSX sheet has too many cells"),
    "xlsx_shared_strings_too_many": (
        "В XLSX слишком много общих строк (shared strings); файл не читался",
        "The XLSX has too many shared strings; it was not read",
    ),
    "file_time_budget_exceeded": (
        "Обработка файла превысила отведённое время; разделите файл или сохраните его как CSV",
        "Processing the file took longer than allowed; split it or save it as CSV",
    ),
    "operator_busy": (
        "Сейчас обрабатывается другой отчёт этого оператора; повторите проверку через минуту",
        "Another filing of this operator is being processed; repeat the check in a minute",
    ),
    "csv_syntax": (
        "Ошибка формата CSV (например, не закрыта кавычка)",
        "CSV syntax error (e.g. a quote left open)",
    ),
    "missing_column": ("Нет обязательного столбца", "A required column is missing"),
    "unknown_column": ("Лишний или неизвестный столбец", "An extra or unknown column"),
    "duplicate_column": ("Столбец указан дважды", "A column appears twice"),
    "wrong_cell_count": (
        "Число ячеек в строке не совпадает с заголовком",
        "The row has a different number of cells than the header",
    ),
    "required": ("Значение обязательно", "A value is required"),
    "too_long": ("Значение длиннее допустимого", "The value is too long"),
    "invalid_text": ("Недопустимые символы (управляющие символы)", "Invalid characters (control characters)"),
    "nul_byte": (
        "В значении нулевой байт (NUL, показан как ␀): файл повреждён или сохранён не как текст",
        "The value holds a NUL byte (shown as ␀): the file is damaged or was not saved as text",
    ),
    "invalid_datetime": ("Неверная дата и время (ожидается ISO 8601)", "Invalid date and time (ISO 8601 expected)"),
    "datetime_no_offset": (
        "Дата и время без часового пояса (нужно, например, +03:00 или Z)",
        "Date and time without an offset (e.g. +03:00 or Z is needed)",
    ),
    "invalid_date": ("Неверная дата (ожидается ГГГГ-ММ-ДД)", "Invalid date (YYYY-MM-DD expected)"),
    "outside_period": ("Дата вне отчётного периода", "The date is outside the filing's period"),
    "invalid_direction": ("Направление должно быть OUT или IN", "Direction must be OUT or IN"),
    "invalid_platform": (
        "Код платформы: латинские буквы, цифры, «-» и «_», до 64 символов",
        "Platform slug: Latin letters, digits, '-' and '_', up to 64 characters",
    ),
    "invalid_country": ("Несуществующий код страны ISO 3166-1 alpha-2", "Not an ISO 3166-1 alpha-2 country code"),
    "invalid_asset": ("Тикер актива: 2–10 заглавных латинских букв или цифр", "Asset ticker: 2-10 capitals or digits"),
    "not_a_number": ("Значение не является числом", "The value is not a number"),
    "amount_not_positive": ("Сумма должна быть больше нуля", "The amount must be greater than zero"),
    "value_negative": ("Стоимость не может быть отрицательной", "The value cannot be negative"),
    "too_many_decimals": ("Слишком много знаков после запятой", "Too many decimal places"),
    "number_too_large": ("Число слишком велико", "The number is too large"),
    "invalid_choice": ("Недопустимое значение", "Not one of the allowed values"),
    "invalid_unp": ("Неверный УНП (контрольная цифра)", "Invalid UNP (check digit)"),
    "invalid_url": ("Неверный адрес сайта", "Invalid website address"),
    "duplicate_external_id": (
        "external_id повторяется в файле",
        "external_id appears more than once in the file",
    ),
    "duplicate_investor_ref": ("investor_ref повторяется в файле", "investor_ref appears more than once in the file"),
    "external_id_conflict": (
        "external_id уже подан в другом действующем отчёте с другими данными",
        "external_id was already filed in another live filing with different content",
    ),
    "profile_row_count": (
        "Профиль оператора должен содержать ровно одну строку",
        "An operator profile must have exactly one row",
    ),
    "registered_after_period": (
        "Дата регистрации клиента позже конца отчётного периода",
        "The client's registration date is after the end of the period",
    ),
    "too_many_errors": (
        "Слишком много ошибок; показаны первые",
        "Too many errors; the first ones are shown",
    ),
    "internal_error": (
        "Внутренняя ошибка обработки; обратитесь в поддержку",
        "Internal processing error; please contact support",
    ),
}

# A file with millions of bad rows must not take the database down with it.
MAX_ERRORS = 100_000


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem of a file, filing or registry alike. row 0 means the file as a whole; row 1 is the header.

    The message of a code in MESSAGES comes from there; ``text`` is the message of one not in
    it (the registry import's, e.g. a validator's words or "expected 5 values"), "ru / en".
    """

    row: int
    column: str
    value: str
    code: str
    text: str = ""

    def __post_init__(self):
        # Whatever made the error (validators, the reader, the file checks), it can be stored
        # (FilingError.column is 64 characters, PostgreSQL text holds no NUL) and exported.
        object.__setattr__(self, "column", visible(clip(self.column, COLUMN_CHARS - 1)))
        object.__setattr__(self, "value", visible(clip(self.value)))

    @property
    def message_ru(self) -> str:
        return MESSAGES[self.code][0] if self.code in MESSAGES else self.text.partition(" / ")[0]

    @property
    def message_en(self) -> str:
        return MESSAGES[self.code][1] if self.code in MESSAGES else self.text.rpartition(" / ")[2]

    @property
    def message(self) -> str:
        """The message, Russian / English, as the pages, the API and the command line show it."""
        return f"{MESSAGES[self.code][0]} / {MESSAGES[self.code][1]}" if self.code in MESSAGES else self.text

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "code": self.code, "message": self.message}

    def in_language(self) -> str:
        """The message in the reader's language (the pages, the reports)."""
        return message_in_language(code=self.code, russian=self.message_ru, english=self.message_en)


def message_in_language(*, code: str, russian: str = "", english: str = "") -> str:
    """An error's message in the active language: the one way every page, report and admin form says it.

    A known code's Russian text through the catalogue; else the stored Russian text through the
    catalogue, else its English half on English pages, else the Russian one.
    """
    if code in MESSAGES:
        russian, english = MESSAGES[code]
    translated = gettext(russian) if russian else ""
    if translated != russian:
        return translated
    if (get_language() or "ru").startswith("en") and english:
        return english
    return russian


def clip(value: object, limit: int = 200) -> str:
    """Offending values are shown, but a 10 MB cell is not stored whole."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# FilingError.column's length.
COLUMN_CHARS = 64
# Control characters as their Unicode pictures (NUL as ␀): shown, stored and exported as they are
# (config.spreadsheets.visible; one character for one, so a clipped value stays clipped).


class ErrorList(list):
    """Errors of one file, capped at MAX_ERRORS (the cap itself is reported)."""

    overflow = False
    # Every error found, also those past the cap: validators compare it to tell a bad row.
    found = 0

    def add(self, row: int, column: str, value: object, code: str) -> None:
        """Record one error. A cell holding NUL is reported as `nul_byte`, whatever check it failed:
        in a text file that is damage (or a part not saved as text), not a typing mistake."""
        self.found += 1
        if row > 1 and isinstance(value, str) and "\x00" in value:
            code = "nul_byte"
        if len(self) >= MAX_ERRORS:
            if not self.overflow:
                self.overflow = True
                super().append(RowError(0, "", "", "too_many_errors"))
            return
        super().append(RowError(row, column, clip(value), code))
