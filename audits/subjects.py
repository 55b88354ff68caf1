"""A flag's subject in the reader's language, rendered from its structured evidence at display time.

The stored `Flag.subject` (an English sentence the scan writes, kept for the fingerprint's history and
the API's machine fields) is never shown: pages, the admin and exports call `flag_subject`. Platforms
are named by their display name (`platform_names`: slug -> name, one query for a page's flags via
`platform_names_for`), countries by their name in the reader's language, filing kinds by their label.
"""

from collections.abc import Iterable

from django.utils.translation import gettext as _

from audits.models import HighRiskList
from operators.labels import choice_label, country_name
from operators.models import FilingKind, ForeignPlatform, Operator
from operators.templatetags.portal import day, share

PLATFORM_RULES = ("UNKNOWN_PLATFORM", "HIGH_RISK_JURISDICTION")


def _period(evidence: dict) -> str:
    start, end = evidence.get("period_start"), evidence.get("period_end")
    return f"{day(start)}–{day(end)}" if start or end else ""


def _filing_period(evidence: dict) -> str:
    kind = choice_label(FilingKind, evidence.get("kind")) or _("Отчёт")
    period = _period(evidence)
    text = _("%(kind)s за %(period)s") % {"kind": kind, "period": period} if period else kind
    if evidence.get("filing"):
        text = _("%(text)s, отчёт №%(filing)s") % {"text": text, "filing": evidence["filing"]}
    return text


def _field_names(differences) -> str:
    names = []
    for name in differences if isinstance(differences, dict) else ():
        try:
            names.append(str(Operator._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - a field the registry no longer has is named by its key
            names.append(str(name))
    return ", ".join(names)


def _platform(evidence: dict, platform_names: dict | None) -> str:
    slug = evidence.get("platform") or ""
    return (platform_names or {}).get(slug) or evidence.get("platform_name") or slug


def flag_subject(flag, *, platform_names: dict | None = None) -> str:
    """'Непроверенная платформа Exmo (Соединённое Королевство)', 'Реестр переводов за 01.01.2026–31.01.2026',
    ... in the active language; a rule it does not know is said by its title."""
    code = flag.rule.code if flag.rule_id else ""
    e = flag.evidence if isinstance(flag.evidence, dict) else {}
    if code in ("MISSING_FILING", "LATE_FILING", "REJECTED_NOT_RESUBMITTED", "DECLARED_TOTALS_MISMATCH"):
        return _filing_period(e)
    if code == "PROFILE_MISMATCH":
        text = _("Профиль оператора: отчёт №%(filing)s") % {"filing": e.get("filing", "—")}
        fields = _field_names(e.get("differences"))
        return _("%(text)s; расходятся: %(fields)s") % {"text": text, "fields": fields} if fields else text
    if code == "CERTIFICATE_EXPIRED":
        expired = day(e.get("htp_certificate_valid_until"))
        if "transfer_count" in e:
            return _("Переводы после истечения свидетельства ПВТ (%(date)s)") % {"date": expired}
        return _("Свидетельство ПВТ истекло %(date)s, оператор действует") % {"date": expired}
    if code == "UNREGISTERED_CLIENT":
        if e.get("case") == "register_missing":
            return _("Переводы за даты, реестр клиентов за которые не подан в срок")
        return _("Переводы инвесторов, которых нет в реестре клиентов")
    if code == "UNKNOWN_PLATFORM":
        platform = _platform(e, platform_names)
        if not e.get("country"):
            return _("Непроверенная платформа %(platform)s") % {"platform": platform}
        return _("Непроверенная платформа %(platform)s (%(country)s)") % {
            "platform": platform,
            "country": country_name(e.get("country")),
        }
    if code == "HIGH_RISK_JURISDICTION":
        return _("Переводы в страну %(country)s (%(list)s)") % {
            "country": country_name(e.get("country")),
            "list": choice_label(HighRiskList, e.get("list")),
        }
    if code == "HIGH_NON_RETURN":
        return _("Доля невозврата %(share)s (расчёт №%(run)s)") % {
            "share": share(e.get("non_return_share")),
            "run": e.get("run", "—"),
        }
    if code == "NON_RETURN_TREND":
        return _("Доля невозврата когорты %(cohort)s: %(before)s → %(now)s (расчёт №%(run)s)") % {
            "cohort": e.get("cohort", "—"),
            "before": share(e.get("previous_non_return_share")),
            "now": share(e.get("non_return_share")),
            "run": e.get("run", "—"),
        }
    return flag.rule.label if flag.rule_id else ""


def platform_slugs(flags: Iterable) -> set[str]:
    """The platforms the flags' subjects name (evidence 'platform')."""
    return {
        f.evidence["platform"]
        for f in flags
        if isinstance(f.evidence, dict) and f.evidence.get("platform") and f.rule.code in PLATFORM_RULES
    }


def platform_names_for(flags: Iterable) -> dict[str, str]:
    """slug -> display name for the platforms these flags name (one query; none when no flag names one)."""
    slugs = platform_slugs(flags)
    if not slugs:
        return {}
    return dict(ForeignPlatform.objects.filter(slug__in=slugs).values_list("slug", "name"))
