"""Spreadsheets as plain rows: CSV (any encoding Excel writes) and XLSX (openpyxl).

Operators keep their buildings in spreadsheets. Both formats become a :class:`Table`: the
sheet's name, its header and its data rows as text cells, each row with the number a
spreadsheet shows, so a problem can be named by sheet, row and column letter. Nothing here
knows what the columns mean; :mod:`.building_list` does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"


class TableError(ValueError):
    """A file that is not a readable table at all (the message says why)."""


@dataclass
class Table:
    """One sheet: header cells and data rows (``(row number, cells)``), all as text."""

    sheet: str
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_table(content: bytes, filename: str) -> Table:
    """The first sheet of an XLSX file, or a CSV table; raises :class:`TableError`."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or content.startswith(XLSX_MAGIC):
        return read_xlsx(content)
    return read_csv(content, sheet=filename.rsplit("/", 1)[-1])


def read_csv(content: bytes | str, sheet: str = "csv") -> Table:
    """A CSV table: UTF-8 (BOM or not) or GBK, ``,`` or ``;`` or tab separated."""
    text = decode_text(content)
    if "\x00" in text:
        raise TableError("not a text table (it holds NUL bytes; is it a binary file?)")
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        raw = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise TableError(f"not a readable CSV table: {err}") from err
    return _table(sheet, [[c.strip() for c in r] for r in raw])


def read_xlsx(content: bytes) -> Table:
    """The first worksheet of an XLSX workbook, cells as the text a person reads."""
    try:
        import openpyxl
    except ImportError as err:  # pragma: no cover - a runtime requirement of the integration
        raise TableError("reading XLSX needs the openpyxl package") from err
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError) as err:
        raise TableError(f"not a readable XLSX workbook ({type(err).__name__}: {err})") from err
    except Exception as err:
        raise TableError(f"not a readable XLSX workbook ({type(err).__name__})") from err
    try:
        sheet = book.worksheets[0]
        rows = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        title = str(sheet.title)
    except Exception as err:
        raise TableError(f"not a readable XLSX workbook ({type(err).__name__})") from err
    finally:
        book.close()
    return _table(title, rows)


def cell_text(value: Any) -> str:
    """A cell value as text: numbers without a spurious ``.0``, dates refused later."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def decode_text(content: bytes | str) -> str:
    """UTF-8 (BOM or not), else GBK as Chinese Excel saves CSV; never guesses silently.

    Text that is neither raises :class:`TableError` rather than turning into mojibake.
    """
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    for codec in ("utf-8-sig", "gbk"):
        try:
            return content.decode(codec)
        except UnicodeDecodeError:
            continue
    raise TableError("not UTF-8 or GBK text (save the sheet as CSV UTF-8)")


def _table(sheet: str, raw: list[list[str]]) -> Table:
    """Header = the first non-empty row; data rows keep their spreadsheet row numbers."""
    numbered = [(n, r) for n, r in enumerate(raw, start=1) if any(c for c in r)]
    if not numbered:
        raise TableError("the sheet is empty")
    (_, header), *rows = numbered
    while header and not header[-1]:
        header = header[:-1]
    return Table(sheet, header, rows)
