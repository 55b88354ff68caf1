"""What every list reader produces: entries reduced to names, wallets, domains and a listing date."""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import urlsplit


class ListFileError(ValueError):
    """The file is not a valid list of its format; the message says where and why."""


@dataclass
class ParsedEntry:
    entry_id: str
    schema: str  # FtM schema name: Person, Organization, LegalEntity, CryptoWallet, ...
    caption: str
    names: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    listed_on: date | None = None

    def content_hash(self) -> str:
        """SHA-256 of the entry's screening content: changes when the list changes the entry."""
        data = asdict(self)
        for key in ("names", "wallets", "domains", "countries", "programs"):
            data[key] = sorted(set(data[key]))
        data["listed_on"] = self.listed_on.isoformat() if self.listed_on else None
        return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class ParsedList:
    entries: list[ParsedEntry]
    published_on: date | None = None


def domain_of(value: str) -> str | None:
    """The host of a website as lists write it (`www.garantex.io`, `https://garantex.org/`), lower case,
    without `www.`; None when it is not a host name."""
    value = (value or "").strip().lower()
    if not value:
        return None
    host = urlsplit(value if "//" in value else f"//{value}").hostname or ""
    host = host.removeprefix("www.")
    if "." not in host or " " in host:
        return None
    return host


def wallet_key(address: str) -> str:
    """A wallet address as compared: stripped; Ethereum-style hex (0x...) is case-insensitive."""
    address = (address or "").strip()
    return address.lower() if address[:2].lower() == "0x" else address


def unique(values) -> list[str]:
    seen, out = set(), []
    for v in values:
        v = (v or "").strip()
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


def merge(entry: ParsedEntry) -> ParsedEntry:
    for key in ("names", "wallets", "domains", "countries", "programs"):
        setattr(entry, key, unique(getattr(entry, key)))
    return entry
