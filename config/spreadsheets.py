"""Spreadsheet safety shared by every export (CSV/XLSX) of the portal.

A cell that starts with = + - @, a tab or a carriage return is read as a
formula by spreadsheet programs (CSV injection). Such text gets a leading
apostrophe, which spreadsheets show as plain text.
"""

from import_export.formats import base_formats

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise one cell value; non-text values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class _SafeMixin:
    def _escape_formulae(self, dataset):
        rows = [[safe_cell(cell) for cell in row] for row in dataset]
        del dataset[:]
        for row in rows:
            dataset.append(row)


class SafeCSV(_SafeMixin, base_formats.CSV):
    pass


class SafeXLSX(_SafeMixin, base_formats.XLSX):
    pass
