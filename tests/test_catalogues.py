"""The translation catalogues (locale/en, locale/be), read with polib; no database.

Every msgid is translated (nothing empty, nothing fuzzy) in both; no msgid or Belarusian msgstr is a
"ru / en" pair; the English catalogue holds no Russian; and every Russian string the code and the
templates translate is in both catalogues (else its page would show Russian on an English or
Belarusian page: Django falls back to the msgid, and for be even to the ru catalogues of libraries).
"""

import ast
import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "be")
CYRILLIC = re.compile(r"[А-Яа-яЁёІіЎў]")
PAIR = re.compile(r"[А-Яа-яЁёІіЎў][^/]*\s/\s[^/]*[A-Za-z]{2}")
# Names of the languages themselves are the same in every catalogue.
SAME_EVERYWHERE = {"Русский", "Беларуская"}
# config and every app of the project (a folder with an apps.py).
CODE_DIRS = ("config", *sorted(p.parent.name for p in ROOT.glob("*/apps.py")))
TRANSLATE_TAG = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.*?)\1""", re.S)
BLOCK_TAG = re.compile(r"\{%\s*blocktrans(?:late)?\b([^%]*)%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S)
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


def _catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def _msgstrs(entry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_is_translated_and_nothing_is_fuzzy(language):
    po = _catalogue(language)
    empty = [e.msgid for e in po if not e.obsolete and not all(s.strip() for s in _msgstrs(e))]
    fuzzy = [e.msgid for e in po if not e.obsolete and "fuzzy" in e.flags]
    assert not empty, f"untranslated in {language}: {empty}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_ru_en_pairs_in_the_catalogue(language):
    po = _catalogue(language)
    pairs = [e.msgid for e in po if PAIR.search(e.msgid)]
    assert not pairs, f"'ru / en' msgids: {pairs}"
    if language == "be":
        split = [(e.msgid, s) for e in po for s in _msgstrs(e) if PAIR.search(s)]
        assert not split, f"'be / en' translations: {split}"


def test_the_english_catalogue_holds_no_russian():
    russian = [
        (e.msgid, s)
        for e in _catalogue("en")
        for s in _msgstrs(e)
        if CYRILLIC.search(s) and e.msgid not in SAME_EVERYWHERE
    ]
    assert not russian, russian


def _block_msgid(options: str, body: str) -> str | None:
    if "{% plural" in body or "count " in options:
        return None
    body = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", body)
    return " ".join(body.split()) if "trimmed" in options else body


def template_msgids() -> set[str]:
    """The Russian strings the templates translate ({% translate %} and simple {% blocktranslate %})."""
    found = set()
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        text = path.read_text(encoding="utf-8")
        found |= {m.group(2) for m in TRANSLATE_TAG.finditer(text)}
        found |= {msgid for m in BLOCK_TAG.finditer(text) if (msgid := _block_msgid(m.group(1), m.group(2)))}
    return {m for m in found if CYRILLIC.search(m)}


def code_msgids() -> set[str]:
    """The Russian literals the Python code passes to gettext (`_("...")` and friends)."""
    found = set()
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                first = node.args[0]
                if name in GETTEXT_NAMES and isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return {m for m in found if CYRILLIC.search(m)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_russian_string_of_the_code_and_templates_is_in_the_catalogue(language):
    known = {e.msgid for e in _catalogue(language) if not e.obsolete}
    missing = sorted((template_msgids() | code_msgids()) - known)
    assert not missing, f"not in locale/{language}: {missing}"


def test_no_ru_en_pair_is_translated_in_code_or_templates():
    pairs = sorted(m for m in template_msgids() | code_msgids() if PAIR.search(m))
    assert not pairs, pairs
