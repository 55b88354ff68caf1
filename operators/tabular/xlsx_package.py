"""The XLSX package (zip) and its small parts, checked before any sheet is streamed (issue 14).

openpyxl trusts what a file declares: its read-only sheet pads every row to the
declared ``<dimension>`` (``A1:XFD1048576`` is 17 billion cells), it builds the
whole shared-string table before the first row, and it accumulates a text node
however long it is. So operators/tabular/xlsx.py reads the same parts itself,
with expat, and refuses the file the moment any of it passes a cap. This module
holds the caps and the checks of everything but the sheet's rows:

* before anything is inflated: the number of zip entries, the declared inflated
  size (in total and of the shared strings) and each member's compression ratio;
* the workbook, its relationships and styles (small parts, read whole within a
  cap and parsed without any DTD), which lead to the first sheet;
* the shared strings: their declared count, then a count of ``<si>`` at C speed
  over the inflated bytes, before a single string is built; then their length;
* the declared ``<dimension>`` of the sheet, from its first bytes.
"""

import posixpath
import re
import time
import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from django.conf import settings
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format

from operators.tabular.errors import RowError

CHUNK = 256 * 1024
# Excel's own limits: 32,767 characters in a cell.
MAX_CELL_CHARS = 32_767
# A member this small is read whatever its ratio (tiny XML parts compress very well).
_RATIO_FLOOR_BYTES = 8 * 1024 * 1024
# How an <si> element can start (with or without a namespace prefix): counted with bytes.count,
# which allocates nothing, so even 14 M of them are counted in about a second.
_SI_STARTS = tuple(lead + b"si" + end for lead in (b"<", b":") for end in (b">", b" ", b"/", b"\t", b"\n", b"\r"))
_PEEK = 16 * 1024
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?dimension\s+ref\s*=\s*[\"']([^\"']{1,64})[\"']")
_SST_START = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?sst\b[^>]{0,4096}>")
_UNIQUE_COUNT = re.compile(rb"\buniqueCount\s*=\s*[\"'](\d+)[\"']")
# No tag is longer than this (a cell's text, at most 32,767 characters, is not a tag): expat
# holds a whole tag in memory, so a longer run without a '>' is refused before it is parsed.
MAX_RUN_BYTES = 1024 * 1024
DIGITS = "0123456789"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class XlsxRefused(Exception):
    """The workbook passed a cap or cannot be read; carries the error for the report."""

    def __init__(self, code: str, *, row: int = 0, column: str = "", value: str = ""):
        super().__init__(code)
        self.error = RowError(row, column, value, code)


@dataclass(frozen=True)
class XlsxLimits:
    max_inflated_bytes: int
    max_shared_strings_bytes: int
    max_ratio: int
    max_shared_strings: int
    max_rows: int
    max_columns: int
    max_cells: int
    max_entries: int = 1000
    max_part_bytes: int = 32 * 1024 * 1024  # workbook.xml, styles.xml, the relationships

    @classmethod
    def from_settings(cls) -> "XlsxLimits":
        def get(name: str, default: int) -> int:
            return int(getattr(settings, name, default))

        return cls(
            max_inflated_bytes=get("FILING_XLSX_MAX_UNCOMPRESSED_BYTES", 1024**3),
            max_shared_strings_bytes=get("FILING_XLSX_MAX_SHARED_STRINGS_BYTES", 256 * 1024**2),
            max_ratio=get("FILING_XLSX_MAX_COMPRESSION_RATIO", 200),
            max_shared_strings=get("FILING_XLSX_MAX_SHARED_STRINGS", 3_000_000),
            max_rows=get("FILING_XLSX_MAX_ROWS", 1_048_576),
            max_columns=get("FILING_XLSX_MAX_COLUMNS", 64),
            max_cells=get("FILING_XLSX_MAX_CELLS", 12_000_000),
        )


def check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise XlsxRefused("file_time_budget_exceeded")


def _local(name: str) -> str:
    return name.rpartition("}")[2].rpartition(":")[2]


def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        if not "A" <= ch <= "Z":
            raise XlsxRefused("bad_xlsx", value=letters[:20])
        n = n * 26 + ord(ch) - 64
    return n


def check_ref(ref: str, limits: XlsxLimits) -> None:
    """A cell reference or range (the declared dimension): within the row and column caps."""
    for part in ref.split(":"):
        letters = part.rstrip(DIGITS).lstrip("$").replace("$", "")
        digits = part[len(part.rstrip(DIGITS)) :]
        if len(letters) > 4 or len(digits) > 9:
            raise XlsxRefused("xlsx_dimension_too_large", value=ref[:40])
        if letters and column_number(letters) > limits.max_columns:
            raise XlsxRefused("xlsx_dimension_too_large", value=ref[:40])
        if digits and int(digits) > limits.max_rows:
            raise XlsxRefused("xlsx_dimension_too_large", value=ref[:40])


def new_parser(handlers: dict | None = None):
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def refuse_dtd(*_args):
        # No document type, so no entity can expand (billion laughs) or point outside.
        raise XlsxRefused("bad_xlsx", value="DOCTYPE")

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    for name, fn in (handlers or {}).items():
        setattr(parser, name, fn)
    return parser


class Workbook:
    """The zip checked by what it declares, and the parts that lead to the first sheet."""

    def __init__(self, zf: zipfile.ZipFile, limits: XlsxLimits):
        self.zf = zf
        self.limits = limits
        infos = zf.infolist()
        if len(infos) > limits.max_entries:
            raise XlsxRefused("xlsx_too_large", value=f"{len(infos)} entries")
        declared = sum(i.file_size for i in infos)
        shared = sum(i.file_size for i in infos if i.filename.lower().endswith("sharedstrings.xml"))
        if declared > limits.max_inflated_bytes or shared > limits.max_shared_strings_bytes:
            raise XlsxRefused("xlsx_too_large", value=str(declared))
        self.members = {i.filename.lstrip("/"): i for i in infos}

    def check_declared(self, sheet: zipfile.ZipInfo, strings: zipfile.ZipInfo | None) -> None:
        """What the parts say of themselves (read from their first bytes), then each member's compression ratio."""
        with self.zf.open(sheet) as fh:
            dimension = _DIMENSION.search(fh.read(_PEEK))
        if dimension:
            check_ref(dimension.group(1).decode("ascii", "replace"), self.limits)
        if strings is not None:
            with self.zf.open(strings) as fh:
                root = _SST_START.search(fh.read(_PEEK))
            declared = _UNIQUE_COUNT.findall(root.group()) if root else []
            if declared and int(declared[0]) > self.limits.max_shared_strings:
                raise XlsxRefused("xlsx_shared_strings_too_many", value=declared[0].decode())
        for info in self.members.values():
            if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > self.limits.max_ratio * max(
                info.compress_size, 1
            ):
                raise XlsxRefused(
                    "xlsx_inflated_too_large", value=f"{info.filename[:100]}: {info.file_size} / {info.compress_size}"
                )

    def member(self, path: str) -> zipfile.ZipInfo | None:
        path = posixpath.normpath(path.lstrip("/"))
        return self.members.get(path) or next(
            (i for name, i in self.members.items() if name.lower() == path.lower()), None
        )

    def part(self, path: str):
        """A small XML part, read whole within max_part_bytes and parsed without any DTD."""
        from defusedxml.ElementTree import fromstring

        info = self.member(path)
        if info is None:
            return None
        if info.file_size > self.limits.max_part_bytes:
            raise XlsxRefused("xlsx_too_large", value=info.filename[:100])
        with self.zf.open(info) as fh:
            data = fh.read(self.limits.max_part_bytes + 1)
        return fromstring(data, forbid_dtd=True)

    def rels(self, path: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, resolved target) of the part at ``path``."""
        folder, name = posixpath.split(path)
        tree = self.part(posixpath.join(folder, "_rels", name + ".rels"))
        found = {}
        for rel in tree.iter() if tree is not None else ():
            if _local(rel.tag) == "Relationship" and rel.get("Target"):
                target = rel.get("Target")
                target = target if target.startswith("/") else posixpath.join(folder, target)
                found[rel.get("Id", "")] = (rel.get("Type", ""), posixpath.normpath(target.lstrip("/")))
        return found

    def first_sheet(self) -> tuple[str, str | None, str | None, bool]:
        """The first worksheet's path, the shared strings' and styles' paths, and whether dates count from 1904."""
        office = "xl/workbook.xml"
        for rel_type, target in self.rels("").values():
            if rel_type.endswith("/officeDocument"):
                office = target
        tree = self.part(office)
        if tree is None:
            raise XlsxRefused("bad_xlsx")
        rels = self.rels(office)
        by_type = {rel_type.rpartition("/")[2]: target for rel_type, target in rels.values()}
        date1904 = False
        sheet = None
        for el in tree.iter():
            tag = _local(el.tag)
            if tag == "workbookPr":
                date1904 = el.get("date1904", "").lower() in ("1", "true")
            elif tag == "sheet" and sheet is None:
                rel_type, target = rels.get(el.get(_REL_ID, ""), ("", ""))
                if rel_type.endswith("/worksheet"):
                    sheet = target
        if sheet is None:
            raise XlsxRefused("bad_xlsx")
        return sheet, by_type.get("sharedStrings"), by_type.get("styles"), date1904

    def styles(self, path: str | None) -> tuple[set[int], set[int]]:
        """Indexes of the cell styles that show a number as a date, and as a duration (openpyxl's rules)."""
        tree = self.part(path) if path else None
        if tree is None:
            return set(), set()
        custom: dict[int, str] = {}
        dates: set[int] = set()
        durations: set[int] = set()
        for el in tree.iter():
            if _local(el.tag) == "numFmt":
                try:
                    custom[int(el.get("numFmtId", ""))] = el.get("formatCode", "")
                except ValueError:
                    continue
        for section in tree.iter():
            if _local(section.tag) != "cellXfs":
                continue
            for idx, xf in enumerate(x for x in section if _local(x.tag) == "xf"):
                try:
                    fmt_id = int(xf.get("numFmtId", "0"))
                except ValueError:
                    continue
                fmt = custom.get(fmt_id) or builtin_format_code(fmt_id)
                if is_date_format(fmt):
                    dates.add(idx)
                if is_timedelta_format(fmt):
                    durations.add(idx)
        return dates, durations

    def shared_strings(self, info: zipfile.ZipInfo | None, deadline: float | None) -> list[str]:
        if info is None:
            return []
        self._count_shared_strings(info, deadline)
        strings: list[str] = []
        parts: list[str] = []
        state = {"in_t": False, "phonetic": 0, "chars": 0}
        limit = self.limits.max_shared_strings_bytes

        def start(name, _attrs):
            name = name.rpartition(":")[2]
            if name == "t":
                state["in_t"] = not state["phonetic"]
            elif name == "rPh":
                state["phonetic"] += 1
            elif name == "si":
                parts.clear()

        def end(name):
            name = name.rpartition(":")[2]
            if name == "t":
                state["in_t"] = False
            elif name == "rPh":
                state["phonetic"] -= 1
            elif name == "si":
                strings.append("".join(parts).replace("x005F_", ""))

        def text(data):
            if state["in_t"]:
                parts.append(data)
                state["chars"] += len(data)
                if state["chars"] > limit:
                    raise XlsxRefused("xlsx_too_large", value="sharedStrings")
                if len(data) > MAX_CELL_CHARS and sum(map(len, parts)) > MAX_CELL_CHARS:
                    raise XlsxRefused("too_long", value="sharedStrings")

        parser = new_parser({"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text})
        with self.zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                parser.Parse(chunk, False)
                check_deadline(deadline)
            parser.Parse(b"", True)
        return strings

    def _count_shared_strings(self, info: zipfile.ZipInfo, deadline: float | None) -> None:
        """Refuse too many shared strings by their declared count, then by counting ``<si>`` in the bytes."""
        cap = self.limits.max_shared_strings
        count = 0
        carry = b""
        run = 0
        with self.zf.open(info) as fh:
            while chunk := fh.read(1 << 20):
                longest, run = longest_run(chunk, run)
                if longest > MAX_RUN_BYTES:
                    raise XlsxRefused("xlsx_inflated_too_large", value="sharedStrings: a run without '>'")
                data = carry + chunk
                # Keep a possible element start cut at the chunk's end for the next round.
                cut = data.rfind(b"<", max(0, len(data) - 40))
                body, carry = (data, b"") if cut < 0 else (data[:cut], data[cut:])
                count += sum(map(body.count, _SI_STARTS))
                if count > cap:
                    raise XlsxRefused("xlsx_shared_strings_too_many", value=f">{cap}")
                check_deadline(deadline)
        count += sum(map((carry + b" ").count, _SI_STARTS))
        if count > cap:
            raise XlsxRefused("xlsx_shared_strings_too_many", value=f">{cap}")


def longest_run(chunk: bytes, carry: int) -> tuple[int, int]:
    """The longest run without a '>' that reaches into this chunk from before it, and the new carry.

    Chunks are never longer than MAX_RUN_BYTES, so a run inside one chunk cannot pass it:
    only the runs that cross chunk boundaries need counting (two finds, no split).
    """
    first = chunk.find(b">")
    if first < 0:
        return carry + len(chunk), carry + len(chunk)
    return carry + first, len(chunk) - chunk.rfind(b">") - 1


def check_entry_count(path, limits: XlsxLimits) -> None:
    """Millions of tiny zip entries are refused before zipfile builds an object for each."""
    try:
        with open(path, "rb") as fh:
            end = zipfile._EndRecData(fh)  # the end-of-central-directory record, zip64 included
    except OSError as exc:
        raise XlsxRefused("bad_xlsx") from exc
    if end is None:
        raise XlsxRefused("bad_xlsx")
    if end[zipfile._ECD_ENTRIES_TOTAL] > limits.max_entries:
        raise XlsxRefused("xlsx_too_large", value=f"{end[zipfile._ECD_ENTRIES_TOTAL]} entries")
