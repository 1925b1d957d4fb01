"""Reading spreadsheets' CSV exports: encoding, delimiter, headers, and rows with their byte offsets.

Everything works on a stream of byte chunks and never needs the whole file. Each row carries the
offset just past it, so a reader can stop after any row and a fresh one can resume there.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from chalicelib.domain.rules.phones import InvalidPhoneNumber, normalise

SNIFF_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1_000_000
MAX_LINE_BYTES = 4 << 20
DELIMITERS = (",", ";", "\t", "|")
EMPTY, BINARY, NO_PHONE_COLUMN, LINE_TOO_LONG = "empty_file", "not_csv", "no_phone_column", "line_too_long"

# Header spellings, compared after folding case and punctuation; earlier phone names win.
PHONE_HEADERS = (
    "msisdn",
    "mobile",
    "mobile number",
    "mobile no",
    "mobile phone",
    "cell",
    "cellphone",
    "cell phone",
    "cell number",
    "cell no",
    "phone",
    "phone number",
    "phone no",
    "telephone",
    "telephone number",
    "tel",
    "contact number",
    "whatsapp",
    "whatsapp number",
    "number",
    "destination",
    "recipient",
    "to",
)
FIRST_NAME_HEADERS = ("first name", "firstname", "first", "given name", "forename", "name")
LAST_NAME_HEADERS = ("last name", "lastname", "surname", "last", "family name")
EMAIL_HEADERS = ("email", "e mail", "email address", "e mail address", "mail")
_PUNCTUATION = re.compile(r"[^0-9a-z]+")


class NotACsv(ValueError):
    """The file cannot be imported at all; `reason` is a code, the message says why in words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Layout:
    """How a file is written, found once from its first bytes and kept for every later invocation."""

    encoding: str
    delimiter: str
    columns: list[str]
    phone_column: int | None  # None: an email column keys the contacts (a file of addresses)
    first_name_column: int | None
    last_name_column: int | None
    email_column: int | None
    field_names: dict[int, str]
    data_start: int
    first_row: int

    def to_dict(self) -> dict:
        return {**self.__dict__, "field_names": {str(k): v for k, v in self.field_names.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> Layout:
        return cls(**{**data, "field_names": {int(k): v for k, v in data["field_names"].items()}})


@dataclass
class Row:
    """One record: `number` is its row as a spreadsheet shows it (the header is row 1); `malformed`
    says why the CSV reader could not read it (an unterminated quote, a NUL byte)."""

    number: int
    cells: list[str]
    end: int
    malformed: str | None = None


@dataclass
class ContactRow:
    number: int
    phone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    fields: dict[str, str] = field(default_factory=dict)


def fold(header: str) -> str:
    """`Mobile_No.` → `mobile no`: how headers are compared."""
    return _PUNCTUATION.sub(" ", header.lower()).strip()


def field_name(header: str) -> str:
    """`Date of Birth` → `date_of_birth`: how other columns are named in a contact's `fields`."""
    return fold(header).replace(" ", "_")


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        cut_short = error.reason == "unexpected end of data" and error.end == len(head)
        if not cut_short:
            return "cp1252"
    return "utf-8"


def text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """A file's lines decoded as an import decodes them (the encoding detected from its head; UTF-8 or
    Windows-1252 line by line), for reading a file that is not imported. NotACsv on a too-long line."""
    stream = iter(chunks)
    head = next(stream, b"")
    for line, _ in _lines(itertools.chain([head], stream), detect_encoding(head), 0):
        yield line


def detect_delimiter(line: str) -> str:
    """The candidate that occurs most often outside quotes in the header line (comma on a tie)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def sniff(head: bytes, region: str, whole_file: bool, simulated: bool = False) -> Layout:
    """The layout of a file from its first bytes (up to SNIFF_BYTES, `whole_file` if that is all);
    `simulated`: the simulator's numbers count as numbers (test mode)."""
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise NotACsv(EMPTY, "The file is empty.")
    encoding = detect_encoding(head)
    if not encoding.startswith("utf-16") and _looks_binary(head):
        raise NotACsv(BINARY, "This is not a CSV file (it looks binary: a spreadsheet? Save it as CSV).")
    start = {"utf-8-sig": 3, "utf-16-le": 2, "utf-16-be": 2}.get(encoding, 0)
    lines = list(_lines([head[start:]], encoding, start, complete_only=not whole_file))
    blank_before = next((i for i, (text, _) in enumerate(lines) if text.strip(" \t\r\n,;|")), None)
    if blank_before is None:
        raise NotACsv(EMPTY, "The file has no rows.")
    text, end = lines[blank_before]
    delimiter = detect_delimiter(text)
    cells = next(csv.reader([text], delimiter=delimiter))
    layout = _layout_from_header(cells, encoding, delimiter, end, first_row=blank_before + 2)
    if layout is not None:
        return layout
    start_of_line = _offset_before(lines, end, start)
    return _layout_without_header(
        cells, encoding, delimiter, start_of_line, region, first_row=blank_before + 1, simulated=simulated
    )


def rows(chunks: Iterable[bytes], layout: Layout, start: int, first_row: int) -> Iterator[Row]:
    """The records from byte `start` on, numbered from `first_row`; blank lines count but yield nothing."""
    csv.field_size_limit(MAX_FIELD_BYTES)
    lines = _OffsetLines(_lines(chunks, layout.encoding, start))
    reader = csv.reader(lines, delimiter=layout.delimiter, strict=False)
    number = first_row - 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            number += 1
            yield Row(number=number, cells=[], end=lines.end, malformed=str(error))
            continue
        number += 1
        if cells and "".join(cells).strip():
            yield Row(number=number, cells=cells, end=lines.end)


def contact_row(row: Row, layout: Layout) -> ContactRow:
    """The contact a row describes; cells beyond the header go into fields as `column_N`."""
    cells = row.cells

    def cell(index: int | None) -> str | None:
        if index is None or index >= len(cells):
            return None
        value = cells[index].strip()
        return value or None

    fields = {}
    for index in range(len(cells)):
        if index in (
            layout.phone_column,
            layout.first_name_column,
            layout.last_name_column,
            layout.email_column,
        ):
            continue
        value = cells[index].strip()
        if value:
            fields[layout.field_names.get(index, f"column_{index + 1}")] = value
    return ContactRow(
        number=row.number,
        phone=cell(layout.phone_column) or "",
        first_name=cell(layout.first_name_column),
        last_name=cell(layout.last_name_column),
        email=cell(layout.email_column),
        fields=fields,
    )


def _layout_from_header(
    cells: list[str], encoding: str, delimiter: str, data_start: int, first_row: int
) -> Layout | None:
    folded = [fold(c) for c in cells]
    phone = _find(folded, PHONE_HEADERS)
    first, last, email = (
        _find(folded, names) for names in (FIRST_NAME_HEADERS, LAST_NAME_HEADERS, EMAIL_HEADERS)
    )
    if phone is None and email is None:
        return None
    taken = {phone, first, last, email}
    names: dict[int, str] = {}
    for index, header in enumerate(cells):
        if index not in taken:
            name = field_name(header) or f"column_{index + 1}"
            while name in names.values():
                name += "_2"
            names[index] = name
    return Layout(
        encoding, delimiter, cells, phone, first, last, email, names, data_start, first_row=first_row
    )


def _layout_without_header(
    cells: list[str],
    encoding: str,
    delimiter: str,
    data_start: int,
    region: str,
    first_row: int,
    simulated: bool = False,
) -> Layout:
    """A file of numbers with no header: the first column that holds a valid number is the phone."""
    for index, value in enumerate(cells):
        try:
            normalise(value, region, simulated=simulated)
        except InvalidPhoneNumber:
            continue
        return Layout(encoding, delimiter, [], index, None, None, None, {}, data_start, first_row=first_row)
    looked_for = ", ".join(PHONE_HEADERS[:8])
    raise NotACsv(
        NO_PHONE_COLUMN,
        f"No phone number or email column: looked for a header such as {looked_for} or email.",
    )


def _find(folded: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in folded:
            return folded.index(name)
    return None


def _offset_before(lines: list[tuple[str, int]], end: int, start: int) -> int:
    """Where the line ending at `end` starts (a headerless file's first row is data)."""
    previous = start
    for _, line_end in lines:
        if line_end == end:
            return previous
        previous = line_end
    raise AssertionError("line not found")


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head[:4096] if byte < 32 and byte not in (9, 10, 13))
    return controls > len(head[:4096]) // 20


class _OffsetLines:
    """Feeds csv.reader text lines and remembers the byte offset after the last one it took."""

    def __init__(self, lines: Iterator[tuple[str, int]]) -> None:
        self._lines = lines
        self.end = 0

    def __iter__(self) -> _OffsetLines:
        return self

    def __next__(self) -> str:
        text, self.end = next(self._lines)
        return text


def _lines(
    chunks: Iterable[bytes], encoding: str, start: int, complete_only: bool = False
) -> Iterator[tuple[str, int]]:
    """(text, end offset) for every line from `start`; a last line without a newline counts unless
    `complete_only` (sniffing a head that may end mid-line)."""
    if encoding.startswith("utf-16"):
        yield from _utf16_lines(chunks, encoding, start, complete_only)
        return
    offset, pending = start, b""
    for chunk in chunks:
        pending += chunk
        if len(pending) > MAX_LINE_BYTES and b"\n" not in pending and b"\r" not in pending:
            raise NotACsv(
                LINE_TOO_LONG, f"A line is longer than {MAX_LINE_BYTES // (1 << 20)} MiB: not a CSV file?"
            )
        parts = pending.splitlines(keepends=True)
        # Hold back a last line that may continue in the next chunk (including a lone "\r" before "\n").
        pending = parts.pop() if parts and not parts[-1].endswith(b"\n") else b""
        for part in parts:
            offset += len(part)
            yield _decode(part, encoding), offset
    if pending and not complete_only:
        yield _decode(pending, encoding), offset + len(pending)


def _decode(raw: bytes, encoding: str) -> str:
    """Each line is UTF-8 if it can be, else Windows-1252: files mix them (a name pasted from elsewhere),
    and one such line must not turn every other accent in the file into mojibake."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n|\Z)")


def _utf16_lines(
    chunks: Iterable[bytes], encoding: str, start: int, complete_only: bool
) -> Iterator[tuple[str, int]]:
    """UTF-16 files (they always carry a BOM here): decode incrementally, count bytes as code units."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    offset, pending = start, ""
    for chunk in chunks:
        pending += decoder.decode(chunk)
        parts = _LINE_END.split(pending)
        pending = parts.pop()
        for part in parts:
            offset += len(part.encode(encoding))
            yield part, offset
    pending += decoder.decode(b"", final=True)
    if pending and not complete_only:
        yield pending, offset + len(pending.encode(encoding))
