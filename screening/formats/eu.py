"""The EU consolidated financial sanctions list (FSF XML, `export/sanctionEntity`): each
sanctionEntity's `logicalId`, `subjectType` (person / enterprise), `nameAlias` (wholeName, or first,
middle and last names), `regulation` (its earliest `publicationDate` is the listing date, its
`programme`), `address`/`citizenship` countries and `identification` numbers; `generationDate` of
the export is the publication date."""

from datetime import date

from screening.formats.base import ListFileError, ParsedEntry, ParsedList, domain_of, merge
from screening.formats.xmlutil import children, local, parse


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


def _entry(element, number: int) -> ParsedEntry:
    logical_id = element.get("logicalId")
    if not logical_id:
        raise ListFileError(f"sanctionEntity #{number}: logicalId is required")
    names = []
    for alias in children(element, "nameAlias"):
        whole = (alias.get("wholeName") or "").strip()
        parts = [alias.get(k) or "" for k in ("firstName", "middleName", "lastName")]
        names.append(whole or " ".join(p.strip() for p in parts if p.strip()))
    names = [n for n in names if n]
    if not names:
        raise ListFileError(f"sanctionEntity {logical_id}: no nameAlias with a name")
    kinds = [s.get("code", "") for s in children(element, "subjectType")]
    regulations = children(element, "regulation")
    listed = [d for d in (_date(r.get("publicationDate")) for r in regulations) if d]
    countries = [
        c.get("countryIso2Code", "").lower()
        for tag in ("address", "citizenship")
        for c in children(element, tag)
        if c.get("countryIso2Code") not in (None, "", "00")
    ]
    domains, wallets = [], []
    for ident in children(element, "identification"):
        kind = (ident.get("identificationTypeCode") or "").lower()
        number_ = ident.get("number") or ""
        if "website" in kind or "url" in kind:
            domains.append(domain_of(number_))
        elif "crypto" in kind or "wallet" in kind:
            wallets.append(number_)
    return merge(
        ParsedEntry(
            entry_id=f"eu-{logical_id}",
            schema="Person" if "person" in kinds else "Organization",
            caption=names[0],
            names=names,
            wallets=wallets,
            domains=[d for d in domains if d],
            countries=countries,
            programs=[r.get("programme", "") for r in regulations],
            listed_on=min(listed) if listed else None,
        )
    )


def read_eu(stream) -> ParsedList:
    root = parse(stream, root="export")
    entries = [_entry(e, n) for n, e in enumerate((c for c in root if local(c.tag) == "sanctionEntity"), start=1)]
    if not entries:
        raise ListFileError("no <sanctionEntity> in the file")
    return ParsedList(entries=entries, published_on=_date(root.get("generationDate")))
