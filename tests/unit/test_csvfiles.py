from pathlib import Path

import pytest

from chalicelib.domain.imports import csvfiles
from chalicelib.domain.imports.csvfiles import (
    BINARY,
    EMPTY,
    NO_PHONE_COLUMN,
    NotACsv,
    contact_row,
    detect_delimiter,
    detect_encoding,
    rows,
    sniff,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "csv"


def read(name: str, chunk: int = 1 << 20, region: str = "ZA"):
    data = (FIXTURES / name).read_bytes()
    layout = sniff(data[:65536], region, whole_file=len(data) <= 65536)
    chunks = [data[i : i + chunk] for i in range(layout.data_start, len(data), chunk)]
    return data, layout, list(rows(chunks, layout, layout.data_start, layout.first_row))


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        (b"\xef\xbb\xbfmsisdn\r\n", "utf-8-sig"),
        (b"\xff\xfem\x00", "utf-16-le"),
        (b"\xfe\xff\x00m", "utf-16-be"),
        ("name\nJosé\n".encode(), "utf-8"),
        ("name\nJosé\n".encode("cp1252"), "cp1252"),
        (b"plain ascii\n", "utf-8"),
        ("cut in the middle é".encode()[:-1], "utf-8"),
    ],
)
def test_encoding_detection(head, encoding):
    assert detect_encoding(head) == encoding


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ("a\tb\tc", "\t"),
        ("a|b|c", "|"),
        ('"x;y;z",b,c', ","),
        ("msisdn", ","),
        ("a;b,c;d", ";"),
    ],
)
def test_delimiter_detection(line, delimiter):
    assert detect_delimiter(line) == delimiter


def test_excel_export_with_bom_and_crlf():
    _, layout, records = read("excel_export.csv")
    assert (layout.encoding, layout.delimiter, layout.first_row) == ("utf-8-sig", ",", 2)
    contacts = [contact_row(r, layout) for r in records]
    assert [c.number for c in contacts] == [2, 3, 4, 5, 6]
    assert contacts[0].phone == "0815854565"
    assert (contacts[0].first_name, contacts[0].last_name, contacts[0].email) == (
        "Thandi",
        "Nkosi",
        "thandi@example.co.za",
    )
    assert contacts[1].fields == {"city": "Cape Town"}
    assert contacts[2].email is None


def test_windows_1252_names_survive():
    _, layout, records = read("windows1252.csv")
    contacts = [contact_row(r, layout) for r in records]
    assert layout.encoding == "cp1252"
    assert [(c.first_name, c.last_name) for c in contacts] == [
        ("José", "Müller"),
        ("Zoë", "Ñandú"),
        ("Renée", "Françoise"),
    ]
    assert contacts[1].fields == {"notes": "Pays in €"}


def test_quoted_fields_keep_delimiters_quotes_and_line_breaks():
    _, layout, records = read("quoted_multiline.csv")
    contacts = [contact_row(r, layout) for r in records]
    assert [c.number for c in contacts] == [2, 3, 4]
    assert contacts[0].first_name == "Smith, John"
    assert contacts[0].fields == {"address": "12 Long St\nCape Town\n8001", "comment": 'said "hi"'}
    assert contacts[1].fields["comment"] == "multi\r\nline"
    assert contacts[2].fields == {"comment": "trailing, comma"}


def test_semicolons_and_utf16_tabs():
    _, layout, records = read("semicolon.csv")
    assert layout.delimiter == ";"
    assert [contact_row(r, layout).phone for r in records] == [
        "0711234567",
        "+27 (0)72 987 6543",
        "0839876543",
    ]
    _, layout, records = read("utf16_tabs.csv")
    assert (layout.encoding, layout.delimiter) == ("utf-16-le", "\t")
    assert [(contact_row(r, layout).phone, contact_row(r, layout).first_name) for r in records] == [
        ("0721111111", "Lindiwe"),
        ("0722222222", "Mpho"),
    ]


def test_odd_headers_map_and_the_rest_become_fields():
    _, layout, records = read("odd_headers.csv")
    first = contact_row(records[0], layout)
    assert (first.phone, first.first_name, first.last_name, first.email) == (
        "27791234567",
        "Kagiso",
        "Molefe",
        "kagiso@example.com",
    )
    assert first.fields == {
        "loyalty_tier": "Gold",
        "date_of_birth": "1990-01-02",
        "city": "Polokwane",
        "city_2": "Limpopo",
    }
    assert contact_row(records[1], layout).fields == {}


def test_blank_and_delimiter_only_lines_are_skipped_but_counted_in_row_numbers():
    _, layout, records = read("messy.csv")
    assert [r.number for r in records] == [2, 4, 6, 7, 8, 9, 10, 12, 13]
    ragged = [contact_row(r, layout) for r in records]
    assert ragged[5].phone == "0821234567" and ragged[5].first_name is None
    assert ragged[6].fields == {"column_4": "cell", "column_5": "values"}


def test_a_file_of_bare_numbers_has_no_header():
    _, layout, records = read("headerless.csv")
    assert layout.first_row == 1
    assert [contact_row(r, layout).phone for r in records] == ["27815854565", "0821234567", "+27 83 123 4567"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("spreadsheet.xlsx", BINARY), ("empty.csv", EMPTY), ("no_phone_column.csv", NO_PHONE_COLUMN)],
)
def test_files_that_are_not_contact_csvs_are_refused_with_a_reason(name, reason):
    data = (FIXTURES / name).read_bytes()
    with pytest.raises(NotACsv) as raised:
        sniff(data, "ZA", whole_file=True)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    "name",
    [
        "excel_export.csv",
        "quoted_multiline.csv",
        "messy.csv",
        "utf16_tabs.csv",
        "windows1252.csv",
        "headerless.csv",
    ],
)
def test_chunk_size_never_changes_what_is_read(name):
    _, _, whole = read(name)
    for size in (1, 2, 3, 7, 64):
        _, _, chunked = read(name, chunk=size)
        assert [(r.number, r.cells, r.end) for r in chunked] == [(r.number, r.cells, r.end) for r in whole]


@pytest.mark.parametrize("name", ["excel_export.csv", "quoted_multiline.csv", "messy.csv", "utf16_tabs.csv"])
def test_resuming_after_any_row_reads_exactly_the_rest(name):
    data, layout, whole = read(name)
    for index, row in enumerate(whole):
        rest = list(rows([data[row.end :]], layout, row.end, row.number + 1))
        assert [(r.number, r.cells) for r in rest] == [(r.number, r.cells) for r in whole[index + 1 :]]


def test_a_nul_byte_mid_file_is_just_a_cell():
    data = b"msisdn,name\n27815854565,Ann\n2782\x001234567,Bob\n27831234567,Cy\n"
    layout = sniff(data[:28], "ZA", whole_file=False)
    records = list(rows([data[layout.data_start :]], layout, layout.data_start, layout.first_row))
    assert [(r.number, r.cells[0]) for r in records] == [
        (2, "27815854565"),
        (3, "2782\x001234567"),
        (4, "27831234567"),
    ]


def test_an_unterminated_quote_is_one_malformed_row_and_reading_goes_on(monkeypatch):
    monkeypatch.setattr(csvfiles, "MAX_FIELD_BYTES", 40)
    data = b'msisdn,name\n27815854565,"Ann\n27821234567,Bob and more and more and more text\n27831234567,Cy\n'
    layout = sniff(data[:12], "ZA", whole_file=False)
    records = list(rows([data[layout.data_start :]], layout, layout.data_start, layout.first_row))
    assert records[0].malformed is not None
    assert records[-1].cells == ["27831234567", "Cy"]


def test_leading_blank_lines_count_in_row_numbers():
    data = b"\r\n\r\nmsisdn,name\r\nabc,Ann\r\n0815854565,Bob\r\n"
    layout = sniff(data, "ZA", whole_file=True)
    records = list(rows([data[layout.data_start :]], layout, layout.data_start, layout.first_row))
    assert [r.number for r in records] == [4, 5]
    bare = b"\n\n27815854565\n27821234567\n"
    layout = sniff(bare, "ZA", whole_file=True)
    assert [
        r.number for r in rows([bare[layout.data_start :]], layout, layout.data_start, layout.first_row)
    ] == [3, 4]


def test_one_windows_1252_line_does_not_spoil_the_utf8_ones():
    data = "msisdn,name\n27815854565,José\n".encode() + "27821234567,Zoë\n".encode("cp1252")
    layout = sniff(data, "ZA", whole_file=True)
    names = [
        r.cells[1] for r in rows([data[layout.data_start :]], layout, layout.data_start, layout.first_row)
    ]
    assert names == ["José", "Zoë"]


def test_a_file_without_line_breaks_is_refused_not_held_in_memory(monkeypatch):
    monkeypatch.setattr(csvfiles, "MAX_LINE_BYTES", 1000)
    data = b"msisdn\n" + b"2" * 5000
    layout = sniff(data[:7], "ZA", whole_file=False)
    chunks = [data[i : i + 100] for i in range(layout.data_start, len(data), 100)]
    with pytest.raises(NotACsv) as raised:
        list(rows(chunks, layout, layout.data_start, layout.first_row))
    assert raised.value.reason == csvfiles.LINE_TOO_LONG
