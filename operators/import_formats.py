"""The admin's imports read XLSX through the bounded intake reader, not tablib/openpyxl (issue 14).

django-import-export parses an uploaded file with the format chosen in its form
(`create_dataset`). The registry's import-only formats hand the raw bytes to
operators/registry_file.py, so a hostile XLSX is refused with the intake's code
before tablib or openpyxl see it, and a CSV may be UTF-8, UTF-8 with BOM or
Windows-1251, separated by `,`, `;` or a tab. Other imports (foreign platforms)
keep import-export's CSV and read XLSX with BoundedXLSX: the same values
openpyxl gives, streamed by operators/tabular/xlsx.py with its caps. An upload
over REGISTRY_MAX_UPLOAD_BYTES is refused by the form, before it is read at all.
Exports keep their own formats (config/spreadsheets.py).
"""

import tempfile
from pathlib import Path

import tablib
from django import forms
from django.conf import settings
from django.utils.translation import gettext
from import_export.formats import base_formats
from import_export.forms import ImportForm

from operators.registry_file import RegistryFileRefused, registry_dataset, registry_max_upload_bytes
from operators.tabular.errors import RowError
from operators.tabular.reader import Deadline, time_budget
from operators.tabular.xlsx import XlsxRefused, sheet_rows

# Shown in the form; the rest are counted.
MAX_SHOWN_ERRORS = 50


def _as_bytes(in_stream) -> bytes:
    return in_stream.encode("utf-8") if isinstance(in_stream, str) else bytes(in_stream)


class _ImportOnlyBinary:
    """Import only: the admin passes the stored upload as bytes (no decoding by import-export)."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def can_export(self):
        return False


class RegistryCSV(_ImportOnlyBinary, base_formats.CSV):
    def create_dataset(self, in_stream, **kwargs):
        return registry_dataset(content=_as_bytes(in_stream))


class RegistryXLSX(_ImportOnlyBinary, base_formats.XLSX):
    def create_dataset(self, in_stream, **kwargs):
        return registry_dataset(content=_as_bytes(in_stream))


class BoundedXLSX(_ImportOnlyBinary, base_formats.XLSX):
    """import-export's XLSX import (first row the headers, cells as openpyxl gives them, rows as wide
    as the widest), read by the bounded reader within the web request's time budget."""

    def create_dataset(self, in_stream, **kwargs):
        content = _as_bytes(in_stream)
        if len(content) > registry_max_upload_bytes():
            raise XlsxRefused("file_too_large")
        deadline = Deadline(time_budget(size_bytes=len(content), dry_run=True)).at
        with tempfile.TemporaryDirectory(prefix="import-") as folder:
            path = Path(folder) / "upload.xlsx"
            path.write_bytes(content)
            rows = list(sheet_rows(path, deadline=deadline))
        if not rows:
            return tablib.Dataset()
        width = max(map(len, rows))
        padded = [row + [None] * (width - len(row)) for row in rows]
        body = padded[1:]
        if getattr(settings, "IMPORT_EXPORT_IMPORT_IGNORE_BLANK_LINES", False):
            body = [row for row in body if any(value is not None for value in row)]
        return tablib.Dataset(*body, headers=padded[0])


class SizeCappedImportForm(ImportForm):
    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        if upload is not None and upload.size > registry_max_upload_bytes():
            raise forms.ValidationError(gettext("Файл больше допустимого размера") + " (file_too_large)")
        return upload


def error_text(error: RowError) -> str:
    """One refused row as the admin's import form shows it, in the page's language."""
    where = gettext("строка %(row)s: ") % {"row": error.row} if error.row else ""
    column = f"[{error.column}] " if error.column else ""
    value = f"{error.value!r}: " if error.value else ""
    return f"{where}{column}{value}{error.in_language()} ({error.code})"


def _refusal_errors(e: Exception) -> list[RowError] | None:
    if isinstance(e, RegistryFileRefused):
        return e.errors
    if isinstance(e, XlsxRefused):
        return [e.error]
    return None


class BoundedImportAdminMixin:
    """Mix into an import-export admin (before ImportExportModelAdmin): size-capped uploads, XLSX read
    by the bounded reader, and a refusal shown as its errors (ru / en, code) in the import form."""

    import_formats = [base_formats.CSV, BoundedXLSX]
    import_form_class = SizeCappedImportForm

    def add_data_read_fail_error_to_form(self, form, e):
        errors = _refusal_errors(e)
        if errors is None:
            return super().add_data_read_fail_error_to_form(form, e)
        for error in errors[:MAX_SHOWN_ERRORS]:
            form.add_error("import_file", error_text(error))
        if len(errors) > MAX_SHOWN_ERRORS:
            more = len(errors) - MAX_SHOWN_ERRORS
            form.add_error("import_file", f"… и ещё {more} / … and {more} more")
        return None


class BoundedRegistryImportMixin(BoundedImportAdminMixin):
    """The operator registry: CSV and XLSX both read as `registry_import` reads them."""

    import_formats = [RegistryCSV, RegistryXLSX]
