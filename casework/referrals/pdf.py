"""The referral package's summary.pdf: Russian, rendered on the server by fpdf2 with the DejaVu Sans fonts
that ship with the project (static/fonts; no CDN, no browser)."""

import logging
from pathlib import Path

from django.conf import settings
from django.utils import translation
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from auditlog.labels import event_label
from audits.evidence_format import evidence_shown
from audits.models import FlagStatus, Severity
from operators.labels import choice_label
from operators.models import FilingKind
from operators.templatetags.portal import day, when

from .build import Built

FONTS = Path(settings.BASE_DIR) / "static" / "fonts"
# fpdf2 subsets the fonts with fontTools, which logs every table it prunes at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", size=7)
        self.cell(0, 5, f"Пакет передачи материалов · стр. {self.page_no()}/{{nb}}", align="C")


def _line(pdf: FPDF, text: str, *, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _fact(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("DejaVu", "B", 9.5)
    pdf.cell(52, 5.5, label)
    pdf.set_font("DejaVu", "", 9.5)
    pdf.multi_cell(0, 5.5, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _evidence(evidence: dict) -> list[tuple[str, str]]:
    rows = []
    for key, value in (evidence or {}).items():
        if key in ("rows", "platform_id", "operator_id") or isinstance(value, dict | list):
            continue
        rows.append((key, evidence_shown(key, value)))
    return rows


def new_document(title: str) -> _Pdf:
    """An A4 page in the project's DejaVu Sans fonts, authored by the SCC: every summary starts so."""
    pdf = _Pdf(format="A4")
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_author("Комитет государственного контроля Республики Беларусь")
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    return pdf


def filings_and_transfers(pdf: _Pdf, info: dict) -> None:
    """The package's filings (each with its member and SHA-256) and its transfers.csv, as both summaries list them."""
    pdf.ln(3)
    _line(pdf, f"Отчёты оператора ({len(info['filings'])})", size=12, bold=True, height=7)
    for f in info["filings"]:
        kind = choice_label(FilingKind, f["kind"]) or f["kind"]
        text = f"№{f['id']} {kind} за {day(f['period_start'])}–{day(f['period_end'])}, подан {when(f['submitted_at'])}"
        _line(pdf, text, size=9.5)
        _line(pdf, f"  {f['original_name']} → {f['member'] or 'файл не прочитан'}", size=8)
        _line(pdf, f"  SHA-256: {f['sha256']}", size=8)
    transfers = info["transfers"]
    pdf.ln(3)
    _line(pdf, "Переводы", size=12, bold=True, height=7)
    text = f"Строк в transfers.csv: {transfers['rows']}."
    if transfers["truncated"]:
        text += f" Доказательства отбирают больше; в пакете первые {transfers['limit']}."
    _line(pdf, text, size=9.5)


def summary_pdf(built: Built) -> bytes:
    """The summary of a referral package: the flag, the decision, the evidence, the filings with their
    SHA-256, the transfers, the history and the chain segment that proves it."""
    with translation.override("ru"):
        return _render(built)


def _render(built: Built) -> bytes:
    info, flag = built.info, built.flag
    pdf = new_document(f"Пакет передачи материалов: нарушение №{flag['id']}")
    _line(pdf, "Пакет передачи материалов", size=15, bold=True, height=8)
    _line(pdf, f"Нарушение №{flag['id']}: {flag['rule']['title']}", size=11.5, bold=True, height=6.5)
    pdf.ln(2)
    operator = flag["operator"]
    _fact(pdf, "Оператор", f"{operator['name']} (УНП {operator['unp']})")
    _fact(pdf, "Предмет", flag["subject"])
    _fact(pdf, "Важность", str(choice_label(Severity, flag["severity"])))
    _fact(pdf, "Статус", str(choice_label(FlagStatus, flag["status"])))
    _fact(pdf, "Передано в", flag["referred_to_label"])
    _fact(pdf, "Дата передачи", when(info["referred_at"]))
    _fact(pdf, "Основание", flag["decision_reason"])
    _fact(pdf, "Выявлено", when(flag["opened_at"]))
    _fact(pdf, "Отпечаток", flag["fingerprint"])
    _fact(pdf, "Пакет собран", when(info["built_at"]))
    pdf.ln(3)
    _line(pdf, "Доказательства", size=12, bold=True, height=7)
    for key, value in _evidence(flag["evidence"]):
        _fact(pdf, key, value)
    filings_and_transfers(pdf, info)
    pdf.ln(3)
    _line(pdf, f"История нарушения ({len(built.history)} событий журнала)", size=12, bold=True, height=7)
    for e in built.history:
        status = ""
        if isinstance(e.after, dict) and e.after.get("status"):
            status = f" → {choice_label(FlagStatus, e.after['status']) or e.after['status']}"
        label = event_label(e.action)
        _line(pdf, f"№{e.pk} {when(e.created_at)} · {e.actor_username or 'система'} · {label}{status}", size=9)
    chain = built.chain
    pdf.ln(3)
    _line(pdf, "Журнал аудита: сегмент хеш-цепочки", size=12, bold=True, height=7)
    _line(
        pdf,
        f"События с №{chain.from_event_id} по №{chain.head_event_id} (голова цепочки при сборке пакета). "
        f"Хеш головы: {chain.head_hash}. Содержимое событий нарушения — audit_log/events.jsonl, звенья "
        "цепочки — audit_log/chain_segment.jsonl; проверка без портала: manage.py verify_referral.",
        size=9,
    )
    pdf.ln(2)
    _line(
        pdf,
        "SHA-256 каждого файла пакета и SHA-256 самого пакета — в manifest.json (определение там же).",
        size=9,
    )
    return bytes(pdf.output())
