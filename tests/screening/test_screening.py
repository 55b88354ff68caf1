"""Screening on real PostgreSQL: list versions, matching, idempotent rescreening, false positives that
stick until the entry changes, the SANCTIONED_COUNTERPARTY rule from the listing date, permissions."""

import json
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from auditlog.models import AuditEvent
from audits.models import Flag
from audits.services import scan_run
from screening.demo import DEMO_LIST
from screening.imports import list_import_file
from screening.models import Hit, HitStatus, ListEntry, ListImport, PlatformAlias, SanctionedPlatform
from screening.services import screen_run
from tests.audits import helpers as h
from tests.factories import auditor, operator_staff, supervisor
from tests.filings.intake_helpers import SAMPLES, submit

pytestmark = pytest.mark.django_db
FILES = Path(__file__).parent / "files"
NATIONAL = (FILES / "national.csv").read_text()


def national(tmp_path, text: str, name="national.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def screen_json() -> dict:
    out = StringIO()
    call_command("screen_counterparties", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_import_is_a_version_with_its_sha256_and_the_same_file_twice_is_that_version():
    out = StringIO()
    call_command(
        "import_screening_list", "--format", "ftm", "--source", "opensanctions 2025-04-01", str(DEMO_LIST), stdout=out
    )
    version = ListImport.objects.get()
    assert version.list_name == "OpenSanctions"
    assert version.format == "ftm"
    assert len(version.sha256) == 64
    assert version.source == "opensanctions 2025-04-01"
    assert version.entry_count == 2
    assert "imported as version" in out.getvalue()
    call_command("import_screening_list", "--format", "ftm", str(DEMO_LIST), stdout=out)
    assert ListImport.objects.count() == 1
    assert "already imported" in out.getvalue()
    assert AuditEvent.objects.filter(action="screening.list_import").count() == 1


def test_malformed_file_imports_nothing(tmp_path):
    bad = national(tmp_path, NATIONAL + "BY-4,Someone,,person,not-a-date,,,,\n")
    with pytest.raises(CommandError, match=r"row 5: listed_on 'not-a-date'.*nothing imported"):
        call_command("import_screening_list", "--format", "csv", str(bad))
    assert not ListImport.objects.exists()
    assert not ListEntry.objects.exists()


def test_garantex_is_found_under_an_alias_and_a_near_miss_is_not():
    h.platform("garantex", country="RU", verified=False, name="Garantex")  # the entry's alias, not its name
    h.platform("garanti", country="TR", name="Garanti BBVA")
    h.platform("guarantee", country="SC", name="Guarantee Exchange")
    h.platform("binance", country="AE", name="Binance")
    list_import_file(path=DEMO_LIST, format="ftm")
    hits = screen_json()["hits"]
    assert [(x["kind"], x["subject"], x["entry"], x["list"]) for x in hits] == [
        ("platform", "garantex", "demo-garantex", "OpenSanctions")
    ]
    assert hits[0]["score"] == 1.0
    assert Hit.objects.get().matched_name == "Garantex"


def test_officers_legal_names_and_wallets_are_screened(tmp_path):
    list_import_file(path=FILES / "national.csv", format="csv", list_name="Национальный перечень")
    officer = h.operator(aml_officer="Сидоров Иван")  # the list's "Иван Сидоров", names the other way round
    h.operator(name="Гарантекс", aml_officer="Пётр Петров")
    wallets_op = h.operator(unp="191234563")
    path = tmp_path / "wallets.csv"
    sample = (SAMPLES / "191234563_transfer_register_2025-05_wallets.csv").read_text()
    path.write_text(sample.replace("0xDEMO000000000000000000000000000000000001", "TDemoWalletNational0000000000000001"))
    result = submit(wallets_op, path.read_bytes(), start=date(2025, 5, 1), end=date(2025, 5, 31))
    assert result.errors == []
    assert result.rows == 3
    hits = {(x["kind"], x["subject"], x["entry"]) for x in screen_json()["hits"]}
    assert ("officer", officer.unp, "BY-2") in hits
    assert ("wallet", "TDemoWalletNational0000000000000001", "BY-3") in hits
    # The legal name's hit: DESIGN section 10's kinds are platform, officer and wallet only.
    assert any(kind == "officer" and entry == "BY-1" for kind, _subject, entry in hits)
    assert {kind for kind, _s, _e in hits} <= {"platform", "officer", "wallet"}


def test_rescreening_is_idempotent():
    h.platform("garantex", country="RU", verified=False, name="Garantex")
    list_import_file(path=DEMO_LIST, format="ftm")
    first = screen_run()
    events = AuditEvent.objects.count()
    second = screen_run()
    assert (first["opened"], second["opened"], second["reopened"], second["kept"]) == (1, 0, 0, 1)
    assert first["hits"] == second["hits"]
    assert Hit.objects.count() == 1
    assert AuditEvent.objects.count() == events  # nothing new to record


def test_false_positive_stays_dismissed_until_the_entry_changes(tmp_path):
    plat = h.platform("garantex", country="RU", verified=False, name="Garantex")
    list_import_file(path=national(tmp_path, NATIONAL), format="csv")
    screen_run()
    hit = Hit.objects.get(kind="platform", subject=plat.slug)
    client_user = auditor()

    c = Client()
    c.force_login(client_user)
    c.post(reverse("screening:decide", args=[hit.pk]), {"decision": "dismissed", "reason": "другая компания"})
    hit.refresh_from_db()
    assert hit.status == HitStatus.DISMISSED
    assert hit.reason == "другая компания"
    assert hit.decided_by == client_user
    # a new version where the entry is the same (another row added): still dismissed
    list_import_file(path=national(tmp_path, NATIONAL + "BY-9,Other,,person,,,,,\n", "v2.csv"), format="csv")
    screen_run()
    hit.refresh_from_db()
    assert hit.status == HitStatus.DISMISSED
    # the entry itself changes (a new alias): open again
    changed = NATIONAL.replace("Гарантекс|Garantex Europe", "Гарантекс|Garantex Europe|Grinex")
    list_import_file(path=national(tmp_path, changed, "v3.csv"), format="csv")
    result = screen_run()
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN
    assert result["reopened"] == 1
    assert AuditEvent.objects.filter(action="screening.hit_reopened", object_id=str(hit.pk)).exists()


def at(y, m, d, hh=12, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def test_confirmed_hit_flags_operators_with_transfers_after_the_listing_date(client):
    plat = h.platform("garantex", country="RU", verified=False, name="Garantex")
    after, before_only = h.operator(), h.operator()
    f1, f2 = h.filing(after, start=date(2025, 3, 1)), h.filing(before_only, start=date(2025, 3, 1))
    h.transfers(after, f1, plat, [(at(2025, 3, 9, 20, 30), "OUT", "i1", "99.00")])  # 23:30 Minsk, 9 March
    h.transfers(
        after, f1, plat, [(at(2025, 3, 9, 21, 30), "OUT", "i1", "10.00"), (at(2025, 3, 20), "IN", "i2", "4.00")]
    )
    h.transfers(before_only, f2, plat, [(at(2025, 3, 2), "OUT", "i3", "50.00")])
    list_import_file(path=DEMO_LIST, format="ftm")
    screen_run()
    hit = Hit.objects.get()
    client.force_login(supervisor())
    response = client.post(
        reverse("screening:decide", args=[hit.pk]), {"decision": "confirmed", "listed_on": "2025-03-10"}
    )
    assert response.status_code == 302
    sanction = SanctionedPlatform.objects.get(platform=plat)
    assert sanction.listed_on == date(2025, 3, 10)
    assert sanction.hit == hit
    scan_run(now=h.NOW)
    [flag] = Flag.objects.filter(rule__code="SANCTIONED_COUNTERPARTY")
    assert flag.operator == after
    assert flag.severity == "critical"
    ev = flag.evidence
    assert (ev["platform"], ev["listed_on"], ev["transfer_count"], ev["value_byn"]) == (
        "garantex",
        "2025-03-10",
        2,
        "14.00",
    )
    assert (ev["list"], ev["list_entry"]) == ("OpenSanctions", "demo-garantex")
    assert ev["rows"]["transfer_count"]["filters"]["since"].startswith("2025-03-10T00:00:00+03:00")
    assert AuditEvent.objects.filter(action="screening.hit_confirm", object_id=str(hit.pk)).exists()


def test_dismissal_needs_a_reason(client):
    h.platform("garantex", country="RU", verified=False, name="Garantex")
    list_import_file(path=DEMO_LIST, format="ftm")
    screen_run()
    hit = Hit.objects.get()
    client.force_login(auditor())
    response = client.post(reverse("screening:decide", args=[hit.pk]), {"decision": "dismissed"}, follow=True)
    assert "Укажите основание" in response.content.decode()
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN


def test_who_may_use_the_review_page(client):
    h.platform("garantex", country="RU", verified=False, name="Garantex")
    list_import_file(path=DEMO_LIST, format="ftm")
    screen_run()
    hit = Hit.objects.get()
    url, decide = reverse("screening:review"), reverse("screening:decide", args=[hit.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(operator_staff(h.operator()))
    assert client.get(url).status_code == 403
    assert client.post(decide, {"decision": "confirmed", "listed_on": "2025-01-01"}).status_code == 403
    hit.refresh_from_db()
    assert hit.status == HitStatus.OPEN
    assert not SanctionedPlatform.objects.exists()
    for user in (auditor(), supervisor()):
        client.force_login(user)
        body = client.get(url).content.decode()
        assert f'data-hit="{hit.pk}"' in body
        assert "demo-garantex" in body


def test_platform_aliases_and_websites_kept_by_supervisors_are_screened():
    named = h.platform("gx", country="RU", name="GX Trade")
    PlatformAlias.objects.create(platform=named, kind=PlatformAlias.Kind.NAME, value="Гарантекс")
    hosted = h.platform("mirror", country="RU", name="Mirror Exchange")
    PlatformAlias.objects.create(platform=hosted, kind=PlatformAlias.Kind.DOMAIN, value="https://www.garantex.io/")
    list_import_file(path=DEMO_LIST, format="ftm")
    hits = {(x["subject"], x["entry"], x["score"]) for x in screen_json()["hits"]}
    assert hits == {("gx", "demo-garantex", 1.0), ("mirror", "demo-garantex", 1.0)}
    assert Hit.objects.get(subject="mirror").matched_name == "garantex.io"
