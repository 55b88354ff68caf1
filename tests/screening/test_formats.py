"""Each list reader on a file in its published layout, and malformed files refused with a clear error."""

import io
from datetime import date
from pathlib import Path

import pytest

from screening.demo import DEMO_LIST
from screening.formats import READERS, ListFileError

FILES = Path(__file__).parent / "files"


def read(fmt: str, data: bytes):
    return READERS[fmt](io.BytesIO(data))


def by_id(parsed):
    return {e.entry_id: e for e in parsed.entries}


def test_ftm_export_gives_names_wallets_domains_and_listing_date():
    entries = by_id(read("ftm", DEMO_LIST.read_bytes()))
    garantex = entries["demo-garantex"]
    assert {"Garantex Europe OU", "Garantex", "Гарантекс"} <= set(garantex.names)
    assert garantex.domains == ["garantex.org", "garantex.io"]
    assert garantex.wallets == ["0xDEMO000000000000000000000000000000000001"]  # from the CryptoWallet's holder
    assert garantex.listed_on == date(2022, 4, 5)  # the earliest Sanction
    assert {"CYBER2", "RUSSIA-EO14024", "RUS"} <= set(garantex.programs)
    assert "demo-garantex-ofac" not in entries  # sanctions are not entries


def test_ofac_sdn_xml():
    parsed = read("ofac", (FILES / "sdn.xml").read_bytes())
    assert parsed.published_on == date(2025, 4, 3)
    entries = by_id(parsed)
    garantex = entries["ofac-36146"]
    assert garantex.schema == "Organization"
    assert garantex.names == ["GARANTEX EUROPE OU", "GARANTEX"]
    assert garantex.domains == ["garantex.io"]
    assert garantex.wallets == ["0x7FF9cFad3877F21d41Da833E2F775dB0569eE3D9"]
    assert garantex.programs == ["CYBER2", "RUSSIA-EO14024"]
    assert entries["ofac-50001"].schema == "Person"
    assert "Ivan SIDOROV" in entries["ofac-50001"].names


def test_ofac_sdn_csv():
    entries = by_id(read("ofac", (FILES / "sdn.csv").read_bytes()))
    garantex = entries["ofac-36146"]
    assert garantex.names == ["GARANTEX EUROPE OU", "GARANTEX"]
    assert garantex.domains == ["garantex.io"]
    assert garantex.wallets == ["0x7FF9cFad3877F21d41Da833E2F775dB0569eE3D9"]
    assert garantex.programs == ["CYBER2", "RUSSIA-EO14024"]
    person = entries["ofac-50001"]
    assert person.schema == "Person"
    assert person.names == ["Ivan SIDOROV", "SIDOROV Ivan"]


def test_eu_consolidated_xml():
    parsed = read("eu", (FILES / "eu.xml").read_bytes())
    assert parsed.published_on == date(2025, 2, 25)
    entries = by_id(parsed)
    garantex = entries["eu-160001"]
    assert garantex.names == ["Garantex Europe OÜ", "Garantex"]
    assert garantex.listed_on == date(2025, 2, 24)
    assert garantex.countries == ["ee"]
    assert garantex.programs == ["RUS"]
    assert entries["eu-160002"].schema == "Person"


def test_national_csv():
    entries = by_id(read("csv", (FILES / "national.csv").read_bytes()))
    assert entries["BY-1"].names == ["Garantex", "Гарантекс", "Garantex Europe"]
    assert entries["BY-1"].listed_on == date(2025, 3, 1)
    assert entries["BY-1"].domains == ["garantex.org"]
    assert entries["BY-3"].schema == "CryptoWallet"
    assert entries["BY-3"].names == []
    assert entries["BY-3"].wallets == ["TDemoWalletNational0000000000000001"]


def test_content_hash_changes_with_the_entry_only():
    a = by_id(read("csv", (FILES / "national.csv").read_bytes()))["BY-1"]
    b = by_id(read("csv", (FILES / "national.csv").read_bytes()))["BY-1"]
    assert a.content_hash() == b.content_hash()
    b.names.append("Grinex")
    assert a.content_hash() != b.content_hash()


MALFORMED = [
    ("ftm", b'{"id": "x", "schema": "Company", "properties": {"name": ["A"]}}\n{not json\n', "line 2"),
    ("ftm", b'{"id": "x", "schema": "NoSuchSchema", "properties": {}}\n', "line 1"),
    ("ftm", b'{"schema": "Company", "properties": {}}\n', "line 1"),
    ("ftm", b"", "no persons"),
    ("ofac", b"<sdnList><sdnEntry><uid>1</uid><lastName>A</lastName>", "XML"),
    ("ofac", b"<sdnList><sdnEntry><lastName>A</lastName></sdnEntry></sdnList>", "uid"),
    ("ofac", b"<other/>", "expected <sdnList>"),
    ("ofac", b'1,"A","-0- "\n', "row 1"),
    ("eu", b"<export><sanctionEntity><nameAlias wholeName='A'/></sanctionEntity></export>", "logicalId"),
    ("eu", b"<export><sanctionEntity logicalId='1'><nameAlias wholeName=''/></sanctionEntity></export>", "nameAlias"),
    ("eu", b"<!DOCTYPE x [<!ENTITY a 'b'>]><export>&a;</export>", "XML"),
    ("csv", b"id,name,kind,colour\n1,A,person,red\n", "unknown columns ['colour']"),
    ("csv", b"id,name,kind\n1,A,alien\n", "row 2: kind"),
    ("csv", b"id,name,kind,listed_on\n1,A,person,01.02.2025\n", "row 2: listed_on"),
    ("csv", b"id,name,kind\n1,A,person\n1,B,person\n", "row 3: id '1' repeated"),
    ("csv", b"id,name,kind\n1,,person\n", "row 2: 'name' is empty"),
]


@pytest.mark.parametrize(("fmt", "data", "message"), MALFORMED)
def test_malformed_file_is_refused_with_a_clear_error(fmt, data, message):
    with pytest.raises(ListFileError, match=None) as caught:
        read(fmt, data)
    assert message in str(caught.value)
