"""CSV files Colony writes for people to open in spreadsheets: streamed to S3, formula cells escaped."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from chalicelib import storage

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Keep a cell from running as a formula when the file is opened in a spreadsheet (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def write_csv(
    key: str, header: Sequence[str], rows: Iterable[Sequence[object]], safe_columns: Sequence[int] = ()
) -> tuple[int, int]:
    """Stream `rows` under `header` into the object `key`; cells are escaped except in `safe_columns`
    (columns that hold only digits, such as phone numbers). Returns (bytes written, rows written)."""
    writer = storage.StreamingWriter(key)
    count = 0
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow([spreadsheet_safe(name) for name in header])
    for row in rows:
        count += 1
        out.writerow(
            [
                cell if index in safe_columns or not isinstance(cell, str) else spreadsheet_safe(cell)
                for index, cell in enumerate(row)
            ]
        )
        if buffer.tell() >= 1 << 20:
            writer.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    writer.write(buffer.getvalue().encode("utf-8"))
    return writer.close(), count
