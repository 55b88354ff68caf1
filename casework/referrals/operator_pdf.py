"""The summary.pdf of an operator's referral package: Russian, fpdf2 with the project's DejaVu Sans fonts
(as a flag's summary, casework.referrals.pdf), listing the operator's confirmed and referred flags."""

from django.utils import translation

from audits.models import FlagStatus, Severity
from operators.labels import choice_label
from operators.templatetags.portal import day, when

from .build import Built
from .pdf import _fact, _line, filings_and_transfers, new_document


def operator_summary_pdf(built: Built) -> bytes:
    with translation.override("ru"):
        return _render(built)


def _render(built: Built) -> bytes:
    info, operator = built.info, built.flag
    pdf = new_document(f"Пакет передачи материалов: оператор УНП {operator['unp']}")
    _line(pdf, "Пакет передачи материалов по оператору", size=15, bold=True, height=8)
    _line(pdf, f"{operator['name']} (УНП {operator['unp']})", size=11.5, bold=True, height=6.5)
    pdf.ln(2)
    _fact(pdf, "Вид деятельности", operator["activity_label"])
    _fact(pdf, "Статус в реестре", operator["status_label"])
    _fact(
        pdf, "Свидетельство ПВТ", f"№{operator['htp_certificate_no']} до {day(operator['htp_certificate_valid_until'])}"
    )
    _fact(pdf, "Передано в", info["agency_label"])
    _fact(pdf, "Дата передачи", when(info["referred_at"]))
    _fact(pdf, "Основание", info["reason"])
    _fact(pdf, "Пакет собран", when(info["built_at"]))
    pdf.ln(3)
    flags = operator["flags"]
    _line(pdf, f"Нарушения ({len(flags)})", size=12, bold=True, height=7)
    for f in flags:
        severity = choice_label(Severity, f["severity"])
        status = choice_label(FlagStatus, f["status"])
        _line(pdf, f"№{f['id']} {f['rule']['title']}", size=9.5, bold=True)
        _line(pdf, f"  {f['subject']} · важность: {severity} · статус: {status}", size=8.5)
        if f["decision_reason"]:
            _line(pdf, f"  Решение: {f['decision_reason']}", size=8.5)
        _line(
            pdf, f"  Выявлено {when(f['opened_at'])}; файлы: flags/{f['id']}.json, flags/{f['id']}-history.csv", size=8
        )
    filings_and_transfers(pdf, info)
    chain = built.chain
    pdf.ln(3)
    _line(pdf, "Журнал аудита: сегмент хеш-цепочки", size=12, bold=True, height=7)
    _line(
        pdf,
        f"События нарушений и передачи ({len(built.history)}) — audit_log/events.jsonl; звенья цепочки с "
        f"№{chain.from_event_id} по №{chain.head_event_id} — audit_log/chain_segment.jsonl. Хеш головы: "
        f"{chain.head_hash}. Проверка без портала: manage.py verify_referral.",
        size=9,
    )
    pdf.ln(2)
    _line(pdf, "SHA-256 каждого файла пакета и SHA-256 самого пакета — в manifest.json.", size=9)
    return bytes(pdf.output())
