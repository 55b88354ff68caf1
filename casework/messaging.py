"""Operators' threads (issue 18 item 3): messages, attachments, read receipts, data requests, broadcasts.

Who may write: the SCC (auditors, supervisors) to any operator; an operator's staff to their own operator's
thread only (clarification, technical questions, answers to data requests). Everything else is refused here
(PermissionDenied), whichever page or command calls. Each write is one audit event.
Attachments get the filings' upload safety: a size limit, accepted extensions only, a random name on disk
(the uploaded name kept for display), the SHA-256 recorded, and served only through an authorised view.
"""

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from auditlog.services import audit_event_record
from audits.models import Flag
from audits.services.review import ANSWER_EXTENSIONS, ANSWER_MAX_BYTES
from casework.models import (
    DataRequest,
    Message,
    MessageAttachment,
    MessageCategory,
    MessageRead,
    RequestStatus,
)
from operators.access import Access, access_for_user
from operators.models import Operator, OperatorStatus, RegistrationFiling

ATTACHMENT_MAX_BYTES = ANSWER_MAX_BYTES
ATTACHMENT_EXTENSIONS = ANSWER_EXTENSIONS
ATTACHMENTS_MAX = 5
STAFF_CATEGORIES = (MessageCategory.CLARIFICATION, MessageCategory.TECHNICAL)
WAITING = (RequestStatus.OPEN, RequestStatus.OVERDUE)


class MessageError(ValidationError):
    """The message cannot be sent as it is (empty, a bad attachment, a missing due date ...)."""


def may_read(access: Access, operator_id: int) -> bool:
    """The SCC reads every thread; operator staff their own operators' threads; nobody else any."""
    return access.is_auditor or (access.is_operator_staff and operator_id in access.operator_ids)


def _attachment_checked(upload: UploadedFile) -> str:
    name = (upload.name or "attachment").replace("\\", "/").rsplit("/", 1)[-1][-255:] or "attachment"
    if upload.size > ATTACHMENT_MAX_BYTES:
        raise MessageError("the attachment is larger than 10 MB", code="attachment_too_large")
    if "." not in name or name.rsplit(".", 1)[-1].lower() not in ATTACHMENT_EXTENSIONS:
        raise MessageError("this kind of attachment is not accepted", code="attachment_type")
    return name


def _attachment_save(*, message: Message, upload: UploadedFile, name: str) -> MessageAttachment:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    attachment = MessageAttachment(message=message, original_name=name, size_bytes=upload.size, sha256="")
    attachment.sha256 = digest.hexdigest()
    attachment.file.save(uuid.uuid4().hex, upload, save=False)
    attachment.save()
    return attachment


def _linked(*, operator: Operator, flag: Flag | None, filing: RegistrationFiling | None, access: Access) -> None:
    if flag is not None and flag.operator_id != operator.pk:
        raise MessageError("the flag is another operator's", code="link_operator")
    if filing is not None and filing.operator_id != operator.pk:
        raise MessageError("the filing is another operator's", code="link_operator")
    if flag is not None and not access.is_auditor and flag.status != "confirmed":
        raise MessageError("operator staff link only confirmed flags", code="link_flag")


def message_post(
    *,
    operator: Operator,
    author: AbstractBaseUser,
    text: str,
    category: str,
    attachments: Iterable[UploadedFile] = (),
    flag: Flag | None = None,
    filing: RegistrationFiling | None = None,
    request: DataRequest | None = None,
    due_date: date | None = None,
    subject: str = "",
    ip: str | None = None,
) -> Message:
    """Post to the operator's thread. The SCC may send any category (a data request needs a due date and
    opens a DataRequest); staff send clarifications and technical questions, or answer a waiting data
    request of their operator (`request`: it becomes answered)."""
    access = access_for_user(author)
    if not may_read(access, operator.pk):
        raise PermissionDenied
    if not text or not text.strip():
        raise MessageError("the message is empty", code="message_empty")
    if category not in MessageCategory.values:
        raise MessageError("unknown category", code="category_unknown")
    if request is not None and (request.operator_id != operator.pk or request.status not in WAITING):
        raise MessageError("this request cannot be answered", code="request_not_waiting")
    if not access.is_auditor and request is None and category not in STAFF_CATEGORIES:
        raise MessageError("operator staff send clarifications and technical questions", code="category_staff")
    if category == MessageCategory.DATA_REQUEST and access.is_auditor and due_date is None:
        raise MessageError("a data request needs a due date", code="due_date_required")
    _linked(operator=operator, flag=flag, filing=filing, access=access)
    uploads = list(attachments)
    if len(uploads) > ATTACHMENTS_MAX:
        raise MessageError("at most 5 attachments", code="attachments_too_many")
    names = [_attachment_checked(u) for u in uploads]
    with transaction.atomic():
        if category == MessageCategory.DATA_REQUEST and access.is_auditor:
            request = DataRequest.objects.create(
                operator=operator,
                subject=(subject.strip() or text.strip().splitlines()[0])[:255],
                due_date=due_date,
                created_by=author,
            )
        elif request is not None and not access.is_auditor:
            DataRequest.objects.filter(pk=request.pk).update(
                status=RequestStatus.ANSWERED, answered_at=timezone.now(), updated_at=timezone.now()
            )
        message = Message.objects.create(
            operator=operator,
            category=MessageCategory.DATA_REQUEST if request is not None else category,
            author=author,
            from_scc=access.is_auditor,
            text=text.strip(),
            flag=flag,
            filing=filing,
            request=request,
        )
        for upload, name in zip(uploads, names, strict=True):
            _attachment_save(message=message, upload=upload, name=name)
        audit_event_record(
            actor=author,
            action="message.post",
            obj=message,
            ip=ip,
            details={
                "operator": operator.pk,
                "category": message.category,
                "request": request.pk if request else None,
                "flag": flag.pk if flag else None,
                "filing": filing.pk if filing else None,
                "attachments": names,
            },
        )
    return message


def broadcast_send(*, author: AbstractBaseUser, text: str, activity: str = "", ip: str | None = None) -> int:
    """The SCC: one notice to every active operator, or to those of one activity. Returns the operators."""
    if not access_for_user(author).is_auditor:
        raise PermissionDenied
    if not text or not text.strip():
        raise MessageError("the message is empty", code="message_empty")
    operators = Operator.objects.filter(status=OperatorStatus.ACTIVE)
    if activity:
        operators = operators.filter(activity=activity)
    key = uuid.uuid4().hex
    with transaction.atomic():
        messages = Message.objects.bulk_create(
            Message(
                operator=op,
                category=MessageCategory.NOTICE,
                author=author,
                from_scc=True,
                text=text.strip(),
                broadcast=key,
            )
            for op in operators
        )
        audit_event_record(
            actor=author,
            action="message.broadcast",
            obj=None,
            ip=ip,
            details={"broadcast": key, "activity": activity, "operators": len(messages)},
        )
    return len(messages)


def thread_read(*, operator: Operator, user: AbstractBaseUser) -> int:
    """Read receipts: the other side's messages of this thread that `user` now opened (first time only)."""
    access = access_for_user(user)
    unread = (
        Message.objects.filter(operator=operator, from_scc=not access.is_auditor)
        .exclude(reads__user=user)
        .values_list("pk", flat=True)
    )
    receipts = [MessageRead(message_id=pk, user=user) for pk in unread]
    MessageRead.objects.bulk_create(receipts, ignore_conflicts=True)
    return len(receipts)


def data_request_close(*, request: DataRequest, actor: AbstractBaseUser, ip: str | None = None) -> DataRequest:
    """The SCC closes a data request (answered or not); closing twice changes nothing."""
    if not access_for_user(actor).is_auditor:
        raise PermissionDenied
    with transaction.atomic():
        locked = DataRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status == RequestStatus.CLOSED:
            return locked
        before = locked.status
        locked.status, locked.closed_at, locked.closed_by = RequestStatus.CLOSED, timezone.now(), actor
        locked.save()
        audit_event_record(
            actor=actor,
            action="data_request.close",
            obj=locked,
            ip=ip,
            before={"status": before},
            after={"status": locked.status},
        )
    return locked


def data_requests_overdue(*, today: date | None = None) -> int:
    """The daily job: open requests past their due date become overdue. Returns how many."""
    today = today or timezone.localdate()
    return DataRequest.objects.filter(status=RequestStatus.OPEN, due_date__lt=today).update(
        status=RequestStatus.OVERDUE, updated_at=timezone.now()
    )


# --- reads ---------------------------------------------------------------------------------------


def threads_visible(*, access: Access) -> QuerySet[Operator]:
    """The operators whose threads the caller may open."""
    if access.is_auditor:
        return Operator.objects.all()
    if access.is_operator_staff:
        return Operator.objects.filter(pk__in=access.operator_ids)
    return Operator.objects.none()


def thread_messages(*, operator: Operator) -> QuerySet[Message]:
    return (
        Message.objects.filter(operator=operator)
        .select_related("author", "flag", "filing", "request")
        .prefetch_related("attachments", "reads__user")
    )


def requests_of(*, operator: Operator) -> QuerySet[DataRequest]:
    return DataRequest.objects.filter(operator=operator).order_by("-created_at", "-id")


def attachment_visible(*, access: Access, pk: int) -> MessageAttachment | None:
    attachment = MessageAttachment.objects.select_related("message").filter(pk=pk).first()
    if attachment is None or not may_read(access, attachment.message.operator_id):
        return None
    return attachment


def unread_for(*, user: AbstractBaseUser, access: Access) -> QuerySet[Message]:
    """Messages of the other side in the caller's threads that the caller has not opened."""
    mine = Q(from_scc=False) if access.is_auditor else Q(from_scc=True, operator_id__in=access.operator_ids)
    return Message.objects.filter(mine).exclude(reads__user=user)


def thread_rows(*, operators: QuerySet[Operator], user: AbstractBaseUser, access: Access) -> list[dict]:
    """The threads page: each operator with its latest message, the caller's unread and waiting requests."""
    unread, waiting = {}, {}
    for operator_id in unread_for(user=user, access=access).values_list("operator_id", flat=True):
        unread[operator_id] = unread.get(operator_id, 0) + 1
    for operator_id in DataRequest.objects.filter(status__in=WAITING).values_list("operator_id", flat=True):
        waiting[operator_id] = waiting.get(operator_id, 0) + 1
    last = Message.objects.filter(operator=OuterRef("pk")).order_by("-id").values("id")[:1]
    operators = list(operators.annotate(last_message=Subquery(last)).order_by("name"))
    latest = Message.objects.in_bulk([op.last_message for op in operators if op.last_message])
    rows = [
        {
            "operator": op,
            "latest": latest.get(op.last_message),
            "unread": unread.get(op.pk, 0),
            "waiting": waiting.get(op.pk, 0),
        }
        for op in operators
    ]
    rows.sort(key=lambda r: (-(r["unread"] + r["waiting"]), -(r["latest"].pk if r["latest"] else 0)))
    return rows
