"""The nightly rescreening task (idempotent, only after a new list version or registry change) and the
admin upload of a list file (supervisors; a malformed file imports nothing)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from screening.demo import DEMO_LIST
from screening.imports import list_import_file
from screening.models import Hit, ListEntry, ListImport
from screening.tasks import rescreen
from tests.audits import helpers as h
from tests.factories import auditor, supervisor

pytestmark = pytest.mark.django_db


def test_nightly_rescreen_runs_after_a_list_import_and_is_idempotent(tmp_path):
    h.platform("garantex", country="RU", verified=False, name="Garantex")
    assert rescreen() is None  # no list yet
    list_import_file(path=DEMO_LIST, format="ftm")
    assert rescreen() == {"opened": 1, "reopened": 0, "kept": 0, "gone": 0}
    assert rescreen() is None  # nothing imported or changed since: nothing to do
    assert Hit.objects.count() == 1
    changed = tmp_path / "v2.jsonl"
    changed.write_text(DEMO_LIST.read_text().replace('"Garantex Exchange"', '"Garantex Exchange", "Grinex"'))
    list_import_file(path=changed, format="ftm")
    assert rescreen() == {"opened": 0, "reopened": 0, "kept": 1, "gone": 0}
    assert Hit.objects.count() == 1


def test_supervisor_uploads_a_list_in_the_admin(client):
    client.force_login(supervisor())
    url = reverse("admin:screening_listimport_add")
    upload = SimpleUploadedFile("opensanctions.jsonl", DEMO_LIST.read_bytes())
    response = client.post(url, {"format": "ftm", "list_name": "", "source": "", "file": upload})
    assert response.status_code == 302, response.content.decode()[:2000]
    version = ListImport.objects.get()
    assert (version.list_name, version.source, version.entry_count) == ("OpenSanctions", "opensanctions.jsonl", 2)
    bad = SimpleUploadedFile("bad.csv", b"id,name,kind\n1,A,alien\n")
    response = client.post(url, {"format": "csv", "list_name": "Национальный", "source": "", "file": bad})
    assert response.status_code == 200
    assert "ничего не импортировано" in response.content.decode()
    assert ListImport.objects.count() == 1
    assert ListEntry.objects.filter(list_import__list_name="Национальный").count() == 0


def test_auditor_may_not_upload_a_list(client):
    client.force_login(auditor(is_staff=True))
    response = client.get(reverse("admin:screening_listimport_add"))
    assert response.status_code == 403
