"""OFAC's SDN list in its published forms: `sdn.xml` (sdnList/sdnEntry with akaList and idList)
or `sdn.csv` (no header: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage,
GRT, Vess_flag, Vess_owner, Remarks; `-0-` for empty; aliases, websites and digital currency
addresses inside Remarks). The SDN file carries no designation date per entry: the entry's listing
date is left empty and the reviewer states it when confirming."""

import csv
import io
import re
from datetime import date

from screening.formats.base import ListFileError, ParsedEntry, ParsedList, domain_of, merge
from screening.formats.xmlutil import children, local, parse, text

CSV_COLUMNS = 12
NULL = "-0-"
AKA = re.compile(r"(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s+'([^']+)'")
WALLET = re.compile(r"Digital Currency Address - [A-Z0-9]+\s+([A-Za-z0-9:]+)")
WEBSITE = re.compile(r"Website\s+([^\s;]+)")


def _person_name(last: str, first: str) -> list[str]:
    return [f"{first} {last}".strip(), f"{last} {first}".strip()] if first else [last]


def _xml_entry(element, number: int) -> ParsedEntry:
    uid = text(element, "uid")
    last = text(element, "lastName")
    if not uid or not last:
        raise ListFileError(f"sdnEntry #{number}: <uid> and <lastName> are required")
    person = text(element, "sdnType").lower() == "individual"
    names = _person_name(last, text(element, "firstName"))
    for aka_list in children(element, "akaList"):
        for aka in children(aka_list, "aka"):
            names += _person_name(text(aka, "lastName"), text(aka, "firstName"))
    wallets, domains, countries = [], [], []
    for id_list in children(element, "idList"):
        for ident in children(id_list, "id"):
            kind, number_ = text(ident, "idType"), text(ident, "idNumber")
            if kind.startswith("Digital Currency Address"):
                wallets.append(number_)
            elif kind == "Website":
                domains.append(domain_of(number_))
    for address_list in children(element, "addressList"):
        countries += [text(a, "country") for a in children(address_list, "address")]
    programs = [p.text or "" for pl in children(element, "programList") for p in children(pl, "program")]
    return merge(
        ParsedEntry(
            entry_id=f"ofac-{uid}",
            schema="Person" if person else "Organization",
            caption=names[0],
            names=names,
            wallets=wallets,
            domains=[d for d in domains if d],
            countries=countries,
            programs=programs,
        )
    )


def _read_xml(stream) -> ParsedList:
    root = parse(stream, root="sdnList")
    published = None
    for info in children(root, "publshInformation"):
        try:
            month, day, year = text(info, "Publish_Date").split("/")
            published = date(int(year), int(month), int(day))
        except (ValueError, TypeError):
            published = None
    entries = [_xml_entry(e, n) for n, e in enumerate((c for c in root if local(c.tag) == "sdnEntry"), start=1)]
    if not entries:
        raise ListFileError("no <sdnEntry> in the file")
    return ParsedList(entries=entries, published_on=published)


def _cell(value: str) -> str:
    value = (value or "").strip()
    return "" if value == NULL else value


def _read_csv(data: bytes) -> ParsedList:
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig").rstrip("\x1a\r\n"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ListFileError(f"not an SDN CSV file ({exc})") from exc
    entries = []
    for number, row in enumerate(rows, start=1):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != CSV_COLUMNS or not row[0].strip().isdigit():
            raise ListFileError(f"row {number}: an sdn.csv row has {CSV_COLUMNS} cells starting with ent_num")
        uid, name, kind, program, remarks = row[0].strip(), _cell(row[1]), _cell(row[2]), _cell(row[3]), _cell(row[11])
        if not name:
            raise ListFileError(f"row {number}: SDN_Name is empty")
        person = kind.lower() == "individual"
        names = [name]
        if person and ", " in name:
            last, first = name.split(", ", 1)
            names = _person_name(last, first)
        names += AKA.findall(remarks)
        entries.append(
            merge(
                ParsedEntry(
                    entry_id=f"ofac-{uid}",
                    schema="Person" if person else "Organization",
                    caption=name,
                    names=names,
                    wallets=WALLET.findall(remarks),
                    domains=[d for d in map(domain_of, WEBSITE.findall(remarks)) if d],
                    programs=[p.strip(" []") for p in program.split("] [")],
                )
            )
        )
    if not entries:
        raise ListFileError("no entries in the file")
    return ParsedList(entries=entries)


def read_ofac(stream) -> ParsedList:
    data = stream.read()
    if isinstance(data, str):
        data = data.encode()
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _read_xml(io.BytesIO(data))
    return _read_csv(data)
