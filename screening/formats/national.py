"""The national list as CSV (UTF-8, `,` or `;`), one row per listed person, organisation or wallet:

    id,name,aliases,kind,listed_on,wallets,websites,country,program

`id`, `name` and `kind` (`person`, `organization` or `wallet`) are required; `aliases`, `wallets`
and `websites` hold several values separated by `|`; `listed_on` is `YYYY-MM-DD`. docs/screening.md.
"""

import csv
import io
from datetime import date

from screening.formats.base import ListFileError, ParsedEntry, ParsedList, domain_of, merge

COLUMNS = ("id", "name", "aliases", "kind", "listed_on", "wallets", "websites", "country", "program")
REQUIRED = ("id", "name", "kind")
SCHEMAS = {"person": "Person", "organization": "Organization", "wallet": "CryptoWallet"}


def _many(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split("|") if v.strip()]


def read_national(stream) -> ParsedList:
    raw = stream.read()
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ListFileError(f"not UTF-8 text ({exc})") from exc
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing:
        raise ListFileError(f"header: unknown columns {unknown}, missing columns {missing} (expected {COLUMNS})")
    reader.fieldnames = header
    entries, seen = [], set()
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise ListFileError(f"row {number}: more cells than columns")
        row = {k: (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        for column in REQUIRED:
            if not row[column]:
                raise ListFileError(f"row {number}: '{column}' is empty")
        if row["kind"] not in SCHEMAS:
            raise ListFileError(f"row {number}: kind '{row['kind']}' is not one of {sorted(SCHEMAS)}")
        if row["id"] in seen:
            raise ListFileError(f"row {number}: id '{row['id']}' repeated")
        seen.add(row["id"])
        try:
            listed = date.fromisoformat(row["listed_on"]) if row.get("listed_on") else None
        except ValueError as exc:
            raise ListFileError(f"row {number}: listed_on '{row['listed_on']}' is not YYYY-MM-DD") from exc
        wallets = _many(row.get("wallets", ""))
        names = [] if row["kind"] == "wallet" else [row["name"], *_many(row.get("aliases", ""))]
        if row["kind"] == "wallet" and not wallets:
            wallets = [row["name"]]
        entries.append(
            merge(
                ParsedEntry(
                    entry_id=row["id"],
                    schema=SCHEMAS[row["kind"]],
                    caption=row["name"],
                    names=names,
                    wallets=wallets,
                    domains=[d for d in map(domain_of, _many(row.get("websites", ""))) if d],
                    countries=_many(row.get("country", "").lower()),
                    programs=_many(row.get("program", "")),
                    listed_on=listed,
                )
            )
        )
    if not entries:
        raise ListFileError("no entries in the file")
    return ParsedList(entries=entries)
