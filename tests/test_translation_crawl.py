"""One language per page (issue 16, item 1): every page each role reaches, in ru, en and be.

The demo data (generate_demo_data, small) opens flags of several rules; each role logs in as production
does (password + second factor), picks the language with the portal's own switch and follows every
link it is shown (one page per URL pattern). A page fails on
- a "ru / en" pair;
- a raw code shown as text (a rule code, a severity, a status, a filing kind, an audit event name);
- on a Russian or Belarusian page: a Latin word that is not a code or proper name of the short
  allow-list or of the data (platform, operator, user names, file column names, e-mail, URLs);
- on a Belarusian page: a Russian word left untranslated (a letter Belarusian does not have: и щ ъ);
- on an English page: a Russian word that is not the data's own.
The catalogues themselves (every msgid translated, nothing fuzzy, every template string present) are
checked without a database in tests/test_catalogues.py.
"""

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pycountry
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import resolve, reverse

from auditlog.labels import EVENT_LABELS
from auditlog.models import AuditEvent
from audits.models import Flag, FlagNote, FlagStatus, HighRiskCountry, Rule, Severity
from casework.models import DataRequest, Message
from filings.models import FilingCorrection
from filings.validate import COLUMNS
from operators.models import (
    FilingKind,
    FilingStatus,
    ForeignPlatform,
    Operator,
    OperatorStatus,
    OperatorStatusChange,
)
from outflows.models import CrossBorderTransfer
from screening.models import Hit, ListEntry, ListImport
from tests.audits.otp_login import login_verified

pytestmark = pytest.mark.django_db

LANGUAGES = ("ru", "en", "be")
PROJECT_APPS = {p.parent.name for p in Path(__file__).resolve().parent.parent.glob("*/apps.py")}
# Codes and abbreviations a Russian page may show as they are.
ALLOWED_LATIN = {
    "BYN", "OUT", "IN", "API", "CSV", "XLSX", "PDF", "ISO", "UTF", "SHA", "FATF", "HTP", "ID", "URL", "RU", "EN",
    "BE", "e-mail", "E-mail", "email", "Email", "JSON", "OpenAPI", "ZIP", "KYC", "AML", "IP", "TOTP",
    "Google", "Authenticator", "Windows", "Excel", "LibreOffice", "Calc", "NUL", "Token", "webhooks", "webhook",
    "OpenSanctions", "FollowTheMoney", "OFAC", "SDN", "XML",  # sanctions lists' names and formats (screening)
}  # fmt: skip
PAIR = re.compile(r"[А-Яа-яЁёІіЎў][^/<>\n]{0,60}\s/\s[A-Za-z]")
TOKEN = re.compile(r"[\w@.:/+'’-]+")
LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z'’-]*$")
CYRILLIC_WORD = re.compile(r"[А-Яа-яЁёІіЎў]")
RUSSIAN_ONLY = re.compile(r"[иИщЩъЪ]")
SKIP_PATH = re.compile(
    r"^/(static|media|api|i18n)/|/accounts/logout|\.(csv|xlsx|json|ico|txt|pdf)$|/file$|/answers/|/submit$"
)
MAX_PAGES = 120


class _Text(HTMLParser):
    """Visible text (and the visible attributes) of a page; its links."""

    SKIP = {"script", "style", "code"}

    def __init__(self, *, admin: bool = False):
        super().__init__()
        self.admin = admin  # the admin's icons say alt="Search", "True", "False" in every language (Django's)
        self.chunks, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.SKIP:
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "aria-label", "" if self.admin else "alt"):
            if attrs.get(name):
                self.chunks.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.chunks.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIP and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.chunks.append(data)


def _words(*texts) -> set[str]:
    return {_bare(w) for text in texts if text for w in TOKEN.findall(str(text))}


def _bare(token: str) -> str:
    return token.strip(".:,;/'’-+")


def _known_codes() -> set[str]:
    """Machine codes that must never be a page's text (they have labels)."""
    codes = set(Rule.objects.values_list("code", flat=True)) | set(EVENT_LABELS)
    for choices in (Severity, FlagStatus, FilingKind, FilingStatus, OperatorStatus):
        codes |= {value for value in choices.values if "_" in value or "." in value}
    return codes


def _data_words() -> set[str]:
    """Proper names and values of the data: they are what they are in every language."""
    users = get_user_model().objects.values_list("username", "first_name", "last_name", "email")
    words = _words(*(v for row in users for v in row))
    words |= _words(*(v for row in ForeignPlatform.objects.values_list("slug", "name") for v in row))
    words |= _words(
        *(
            v
            for row in Operator.objects.values_list("name", "email", "website", "legal_address", "aml_officer")
            for v in row
        )
    )
    words |= _words(*CrossBorderTransfer.objects.values_list("asset", flat=True).distinct())
    words |= _words(*FlagNote.objects.values_list("text", flat=True))
    words |= _words(*OperatorStatusChange.objects.values_list("reason", flat=True))
    words |= _words(*_free_texts(), BAD_ROW)
    words |= _words(*Flag.objects.exclude(decision_reason="").values_list("decision_reason", flat=True))
    words |= {c for columns in COLUMNS.values() for c in columns} | {"errors"}
    words |= _words(*HighRiskCountry.objects.values_list("note", flat=True))
    words |= _words(*Group.objects.values_list("name", flat=True))
    words |= _words(*AuditEvent.objects.values_list("object_repr", flat=True).distinct())
    # The casework's messages, data requests and correction reasons are the users' own text.
    words |= _words(*Message.objects.values_list("text", flat=True))
    words |= _words(*DataRequest.objects.values_list("subject", flat=True))
    words |= _words(*FilingCorrection.objects.values_list("reason", flat=True))
    # Sanctions lists are what their publishers wrote: entries' names, ids, programmes; lists' names, sources.
    for row in ListEntry.objects.values_list("entry_id", "caption", "names", "programs", "countries"):
        words |= _words(*(v for value in row for v in (value if isinstance(value, list) else [value])))
    words |= _words(*(v for row in ListImport.objects.values_list("list_name", "source") for v in row))
    words |= _words(*(v for row in Hit.objects.values_list("subject", "subject_name", "matched_name") for v in row))
    return words


FREE_TEXT_FIELDS = ("text", "subject", "reason", "note", "original_name", "decision_reason", "decision_note")


def _free_texts() -> list[str]:
    """What people wrote (messages, requests, reasons, file names) in any app of the project: data."""
    texts = []
    for model in apps.get_models():
        if model.__module__.split(".")[0] not in PROJECT_APPS:
            continue
        for field in model._meta.get_fields():
            if field.name in FREE_TEXT_FIELDS and field.get_internal_type() in ("CharField", "TextField"):
                texts += model.objects.values_list(field.name, flat=True)[:5000]
    return texts


def _problems(text: str, language: str, *, allowed: set[str], codes: set[str], admin: bool) -> list[str]:
    found = [f"pair: {m.group(0)!r}" for m in PAIR.finditer(text)]
    for token in TOKEN.findall(text):
        word = _bare(token)
        if not word or word in allowed or "@" in word or "://" in word or word.startswith("www."):
            continue
        if admin and len(word) == 2 and word.isupper() and pycountry.countries.get(alpha_2=word):
            continue  # a country code stored in a column of the admin's lists
        if word in codes and not admin:
            found.append(f"code: {word}")
        elif language in ("ru", "be") and LATIN_WORD.match(word) and len(word) > 1 and word not in ALLOWED_LATIN:
            found.append(f"latin: {word}")
        elif _russian(word, language):
            found.append(f"russian: {word}")
    return found


def _russian(word: str, language: str) -> bool:
    """A Russian word on a Belarusian page (letters Belarusian has not) or any Cyrillic on an English one."""
    if language == "be":
        return bool(RUSSIAN_ONLY.search(word))
    return language == "en" and bool(CYRILLIC_WORD.search(word)) and not re.search(r"\d", word)


def _pattern(url: str) -> tuple:
    parts = urlsplit(url)
    keys = tuple(sorted({k for k, _v in parse_qsl(parts.query)} - {"page", "after", "before"}))
    return re.sub(r"\d+", "N", parts.path), keys


def _followable(href: str, *, admin_ok: bool) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP_PATH.search(parts.path):
        return None
    # The admin: its index and changelists (its own pages, translated by Django), not forms or history.
    changelist = re.fullmatch(r"/admin/([a-z_]+/([a-z_]+/)?)?", parts.path) and not parts.query
    if parts.path.startswith("/admin/") and not (admin_ok and changelist):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, language: str, *, seeds: list[str], admin_ok: bool) -> tuple[dict[str, list[str]], set[str]]:
    """({url: problems}, names of the pages seen) for every page reachable from the seeds, in `language`
    (chosen with the switch)."""
    response = client.post(reverse("set_language"), {"language": language, "next": "/"})
    assert response.status_code == 302
    allowed, codes = _data_words(), _known_codes()
    # Seeds are all visited (one flag page per rule); links found on the way once per URL pattern.
    seen, queue, report, pages, names = set(), deque((url, True) for url in seeds), {}, 0, set()
    while queue and pages < MAX_PAGES:
        url, seed = queue.popleft()
        if _pattern(url) in seen and not seed:
            continue
        seen.add(_pattern(url))
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        pages += 1
        names.add(resolve(urlsplit(url).path).view_name)
        html = response.content.decode()
        assert f'<html lang="{language}"' in html or url.startswith("/admin/"), (url, language)
        if url.startswith("/admin/"):
            allowed = _data_words()  # the audit log has grown by what the crawl itself did
        parser = _Text(admin=url.startswith("/admin/"))
        parser.feed(html)
        problems = _problems(
            "\n".join(parser.chunks), language, allowed=allowed, codes=codes, admin=url.startswith("/admin/")
        )
        if problems:
            report[url] = sorted(set(problems))
        queue.extend((u, False) for u in (_followable(h, admin_ok=admin_ok) for h in parser.links) if u)
    assert pages > 3, f"only {pages} pages reached from {seeds}"
    return report, names


@pytest.fixture
def demo():
    call_command("generate_demo_data", transfers=600, operators=6, seed=16, stdout=StringIO())
    rules = set(Flag.objects.values_list("rule__code", flat=True))
    assert len(rules) >= 3, rules
    return rules


# The pages each role must have been through (the crawl follows links; this says it got everywhere).
_PORTAL = {"filings:list", "filings:detail", "audits:flag_list", "audits:flag_detail", "operators:list"}
_SCC = _PORTAL | {"dashboard", "queue", "operators:detail", "outflows:transfers", "outflows:stats", "outflows:run"}
REACHED = {
    "operator": _PORTAL | {"filings:check"},
    "auditor": _SCC,
    "supervisor": _SCC | {"admin:index", "admin:audits_flag_changelist", "admin:auditlog_auditevent_changelist"},
}


def _seeds(role: str) -> list[str]:
    operator = Operator.objects.order_by("pk").first()
    one_per_rule = {f.rule_id: f.pk for f in Flag.objects.order_by("-pk")}.values()
    common = [reverse("home"), reverse("filings:list"), reverse("audits:flag_list"), reverse("operators:list")]
    if role == "operator":
        return common
    return [
        *common,
        reverse("dashboard"),
        reverse("queue"),
        *(reverse("audits:flag_detail", args=[pk]) for pk in one_per_rule),
        reverse("operators:detail", args=[operator.pk]),
        reverse("outflows:transfers"),
        reverse("outflows:stats"),
        *([reverse("admin:index")] if role == "supervisor" else []),
    ]


# A row of a file with errors; its values are shown back to the filer as they are (data).
BAD_ROW = "T1,yesterday,SIDEWAYS,inv,??,XX,usdt,-1,abc"


def _dry_run_with_errors(client, user) -> str:
    """The dry-run result page of a file with errors (its own URL, kept for a while): crawled too."""
    operator = Operator.objects.filter(memberships__user=user).first()
    header = ",".join(COLUMNS["transfer_register"])
    upload = SimpleUploadedFile("bad.csv", f"{header}\n{BAD_ROW}\n".encode())
    response = client.post(
        reverse("filings:list"),
        {
            "operator": operator.pk,
            "kind": "transfer_register",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "file": upload,
            "action": "dry_run",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


@pytest.mark.parametrize("role", ["supervisor", "auditor", "operator"])
def test_every_page_speaks_one_language(client, demo, role):
    user = get_user_model().objects.get(username=role)
    login_verified(client, user)
    if role == "operator":  # operator staff see confirmed flags only: confirm one of theirs
        flag = Flag.objects.filter(operator__memberships__user=user).first()
        if flag is not None:
            Flag.objects.filter(pk=flag.pk).update(status=FlagStatus.CONFIRMED)
    seeds = _seeds(role) + ([_dry_run_with_errors(client, user)] if role == "operator" else [])
    failures = {}
    for language in LANGUAGES:
        report, names = crawl(client, language, seeds=seeds, admin_ok=role == "supervisor")
        failures.update({f"{language} {url}": problems for url, problems in report.items()})
        assert REACHED[role] <= names, f"{role} {language}: not reached {REACHED[role] - names}"
    assert not failures, "\n".join(f"{url}: {', '.join(p[:40])}" for url, p in sorted(failures.items()))
