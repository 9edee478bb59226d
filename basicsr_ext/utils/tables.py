"""Report tables: one list of rows and one list of columns, written as markdown and as CSV.

Every report of the project writes its tables here (the AOS test report, ``aos_restore.py``'s report, the domain
report), so a column has one key, one title and one way of showing its values. A column's ``text`` makes the markdown
cell (rounded for reading) and its ``csv`` the CSV cell (full precision for programs; default: the markdown cell).
Markdown: ``| a | b |`` rows, an empty cell as ``| |``, the separator ``|---|---:|`` (``---:`` for right-aligned
columns). CSV: Python's ``csv`` module, ``\\n`` line ends.
"""

import csv
import io
from dataclasses import dataclass
from typing import Callable, Optional

ALIGNMENTS = ('left', 'right')


@dataclass(frozen=True)
class Column:
    """One column of a table.

    Attributes:
        key (str): The row's key for the value and the CSV header.
        title (str | None): The markdown header. Default: None (``key``).
        text (callable): value -> markdown cell. Default: str.
        csv (callable | None): value -> CSV cell. Default: None (the markdown cell).
        align (str): 'left' or 'right' (numbers) in markdown. Default: 'left'.
    """

    key: str
    title: Optional[str] = None
    text: Callable = str
    csv: Optional[Callable] = None
    align: str = 'left'

    def __post_init__(self):
        if self.align not in ALIGNMENTS:
            raise ValueError(f'column {self.key!r}: align must be one of {ALIGNMENTS}, got {self.align!r}')

    def markdown_cell(self, row):
        return str(self.text(row[self.key]))

    def csv_cell(self, row):
        return str((self.csv or self.text)(row[self.key]))


def _line(cells):
    return '|' + ''.join(f' {c} |' if c else ' |' for c in cells)


def markdown_lines(columns, rows):
    """The lines of a markdown table (header, separator, one line per row) of ``rows`` (dicts keyed by the columns'
    keys)."""
    lines = [
        _line([c.key if c.title is None else c.title for c in columns]),
        '|' + ''.join('---:|' if c.align == 'right' else '---|' for c in columns),
    ]
    return lines + [_line([c.markdown_cell(row) for c in columns]) for row in rows]


def csv_text(columns, rows):
    """The CSV text (header of keys, one line per row) of ``rows`` (dicts keyed by the columns' keys)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator='\n')
    writer.writerow([c.key for c in columns])
    writer.writerows([c.csv_cell(row) for c in columns] for row in rows)
    return buf.getvalue()
