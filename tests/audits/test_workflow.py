"""Review workflow: allowed transitions only, enforced in the service layer, each one logged."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from auditlog.models import AuditEvent
from audits.models import Flag, FlagStatus, NoteKind, Rule
from audits.services import (
    FlagTransitionError,
    flag_answer,
    flag_assign,
    flag_confirm,
    flag_dismiss,
    flag_note_add,
    flag_refer,
    flag_reopen,
    flag_take,
    scan_run,
)
from tests.audits import helpers as h

pytestmark = pytest.mark.django_db


@pytest.fixture
def op():
    return h.operator()


@pytest.fixture
def flag(op):
    h.file_everything(op, until=date(2025, 5, 1))
    # A medium flag: one auditor decides it (high and critical take two: tests/audits/test_four_eyes.py).
    Rule.objects.filter(code="MISSING_FILING").update(severity="medium")
    scan_run(now=h.NOW)
    return Flag.objects.get(operator=op, rule__code="MISSING_FILING")


@pytest.fixture
def auditor():
    return h.user("aud", group="auditors")


def test_walk_open_take_note_confirm_answer(flag, auditor, op):
    staff = h.user("staff", operator=op)
    flag = flag_take(flag=flag, actor=auditor, ip="10.0.0.1")
    assert (flag.status, flag.assignee) == (FlagStatus.IN_REVIEW, auditor)
    flag_note_add(flag=flag, actor=auditor, text="checked the calendar")
    flag = flag_confirm(flag=flag, actor=auditor, note="no filing for May")
    assert flag.status == FlagStatus.CONFIRMED
    answer = flag_answer(
        flag=flag, user=staff, text="filed today", attachment=SimpleUploadedFile("receipt.pdf", b"%PDF-1.4")
    )
    assert answer.kind == NoteKind.ANSWER
    assert answer.attachment_name == "receipt.pdf"
    actions = list(
        AuditEvent.objects.filter(object_type="audits.flag", object_id=str(flag.pk)).values_list("action", flat=True)
    )
    assert actions == ["flag.opened", "flag.take", "flag.note", "flag.confirm", "flag.note", "flag.answer"]
    take = AuditEvent.objects.get(action="flag.take")
    assert take.ip == "10.0.0.1"
    assert take.actor_username == "aud"
    assert take.before["status"] == "open"
    assert take.after["status"] == "in_review"


@pytest.mark.parametrize(
    ("decide", "then"),
    [
        ("confirm", "dismiss"),
        ("confirm", "confirm"),
        ("dismiss", "confirm"),
        ("dismiss", "refer"),
        ("refer", "confirm"),
        ("refer", "assign"),
    ],
)
def test_illegal_transitions_are_refused(flag, auditor, decide, then):
    actions = {
        "confirm": lambda f: flag_confirm(flag=f, actor=auditor),
        "dismiss": lambda f: flag_dismiss(flag=f, actor=auditor, reason="because"),
        "refer": lambda f: flag_refer(flag=f, actor=auditor, agency="fmd", reason="because"),
        "assign": lambda f: flag_assign(flag=f, actor=auditor, assignee=auditor),
    }
    flag = actions[decide](flag)
    status = flag.status
    with pytest.raises(FlagTransitionError):
        actions[then](flag)
    flag.refresh_from_db()
    assert flag.status == status


def test_cleared_flag_cannot_be_decided(flag, auditor):
    Flag.objects.filter(pk=flag.pk).update(status=FlagStatus.CLEARED)
    with pytest.raises(FlagTransitionError):
        flag_confirm(flag=flag, actor=auditor)
    with pytest.raises(FlagTransitionError):
        flag_reopen(flag=flag, actor=auditor)


def test_dismiss_needs_a_reason_and_refer_an_agency(flag, auditor):
    with pytest.raises(FlagTransitionError):
        flag_dismiss(flag=flag, actor=auditor, reason="  ")
    with pytest.raises(FlagTransitionError):
        flag_refer(flag=flag, actor=auditor, agency="nasa", reason="why")
    with pytest.raises(FlagTransitionError):
        flag_refer(flag=flag, actor=auditor, agency="tax", reason="")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_reopen_brings_a_decision_back_into_review(flag, auditor):
    flag = flag_dismiss(flag=flag, actor=auditor, reason="ok")
    flag = flag_reopen(flag=flag, actor=auditor, reason="new information")
    assert flag.status == FlagStatus.IN_REVIEW
    assert flag.dismissed_material is None
    flag = flag_refer(flag=flag, actor=auditor, agency="national_bank", reason="outflows")
    assert (flag.status, flag.referred_to) == (FlagStatus.REFERRED, "national_bank")


def test_only_auditors_review(flag, op):
    staff = h.user("staff", operator=op)
    nobody = h.user("nobody")
    for user in (staff, nobody):
        with pytest.raises(PermissionDenied):
            flag_confirm(flag=flag, actor=user)
        with pytest.raises(PermissionDenied):
            flag_note_add(flag=flag, actor=user, text="x")
    auditor = h.user("aud2", group="auditors")
    with pytest.raises(FlagTransitionError):
        flag_assign(flag=flag, actor=auditor, assignee=staff)  # staff cannot be assignees


def test_operator_answers_only_confirmed_flags_of_its_own(flag, auditor, op):
    staff = h.user("staff", operator=op)
    other = h.user("other", operator=h.operator())
    with pytest.raises(FlagTransitionError):
        flag_answer(flag=flag, user=staff, text="early")
    flag = flag_confirm(flag=flag, actor=auditor)
    with pytest.raises(PermissionDenied):
        flag_answer(flag=flag, user=other, text="not mine")
    with pytest.raises(FlagTransitionError):
        flag_answer(flag=flag, user=staff, text="x", attachment=SimpleUploadedFile("run.exe", b"MZ"))
