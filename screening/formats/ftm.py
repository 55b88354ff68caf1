"""OpenSanctions' FollowTheMoney export: one entity per line (`entities.ftm.json`).

Persons, organisations and other legal entities become entries; a CryptoWallet adds its
`publicKey` to its holder's entry (or is an entry of its own without one); a Sanction gives its
entity's listing date (the earliest `listingDate`/`startDate`); `website` values give domains.
"""

import json
from datetime import date

from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.types import registry

from screening.formats.base import ListFileError, ParsedEntry, ParsedList, domain_of, merge

SCREENED = ("LegalEntity",)  # and its descendants: Person, Organization, Company, PublicBody


def _date(values: list[str]) -> date | None:
    days = []
    for value in values:
        try:
            days.append(date.fromisoformat(value[:10]))
        except ValueError:
            continue
    return min(days) if days else None


def read_ftm(stream) -> ParsedList:
    entities, wallets, sanctions = {}, [], []
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or not data.get("id") or not data.get("schema"):
                raise ValueError("an entity needs 'id' and 'schema'")
            proxy = model.get_proxy(data, cleaned=False)
        except (ValueError, InvalidData, TypeError) as exc:
            raise ListFileError(f"line {number}: not a FollowTheMoney entity ({exc})") from exc
        if proxy.schema.is_a("CryptoWallet"):
            wallets.append(proxy)
        elif proxy.schema.is_a("Sanction"):
            sanctions.append(proxy)
        elif any(proxy.schema.is_a(s) for s in SCREENED):
            entities[proxy.id] = ParsedEntry(
                entry_id=proxy.id,
                schema=proxy.schema.name,
                caption=proxy.caption,
                names=proxy.get_type_values(registry.name, matchable=True),
                domains=[d for d in map(domain_of, proxy.get("website", quiet=True)) if d],
                countries=proxy.get_type_values(registry.country),
                programs=proxy.get("program", quiet=True) + proxy.get("topics", quiet=True),
            )
    if not entities and not wallets:
        raise ListFileError("no persons, organisations or wallets in the file")
    for wallet in wallets:
        keys = wallet.get("publicKey") + wallet.get("cryptoAddress", quiet=True)
        holders = [entities[h] for h in wallet.get("holder") if h in entities]
        if holders:
            for holder in holders:
                holder.wallets.extend(keys)
        else:
            entities[wallet.id] = ParsedEntry(
                entry_id=wallet.id, schema=wallet.schema.name, caption=wallet.caption, wallets=keys
            )
    for sanction in sanctions:
        listed = _date(sanction.get("listingDate") + sanction.get("startDate"))
        for target in sanction.get("entity"):
            entry = entities.get(target)
            if entry is not None:
                entry.programs.extend(sanction.get("program"))
                if listed and (entry.listed_on is None or listed < entry.listed_on):
                    entry.listed_on = listed
    return ParsedList(entries=[merge(e) for e in entities.values()])
