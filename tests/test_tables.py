"""utils/tables.py: one table of rows and columns, written as markdown and CSV that agree."""

import csv
import io
import math

import pytest

from basicsr_ext.utils.tables import Column, csv_text, markdown_lines


def cells(line):
    """The cells of one markdown table line."""
    return [c.strip() for c in line.strip('|').split('|')]


def test_markdown_and_csv_hold_the_same_rows_and_columns():
    columns = [Column('name', 'sample'), Column('psnr', 'PSNR (dB)', align='right'), Column('note')]
    rows = [{'name': 'a', 'psnr': 30.5, 'note': ''}, {'name': 'b, c', 'psnr': 'inf', 'note': 'x'}]
    md = markdown_lines(columns, rows)
    assert md[0] == '| sample | PSNR (dB) | note |' and md[1] == '|---|---:|---|'
    assert md[2] == '| a | 30.5 | |'  # an empty cell is one space wide
    table = list(csv.reader(io.StringIO(csv_text(columns, rows))))
    assert table[0] == ['name', 'psnr', 'note']  # CSV headers are the keys, markdown shows the titles
    assert table[1:] == [cells(line) for line in md[2:]]  # without a csv formatter the cells are the same


def test_a_column_rounds_for_reading_and_keeps_full_precision_for_programs():
    column = Column('psnr', text=lambda v: f'{v:.2f}', csv=repr, align='right')
    rows = [{'psnr': 1 / 3}, {'psnr': math.inf}]
    assert [cells(line) for line in markdown_lines([column], rows)] == [['psnr'], ['---:'], ['0.33'], ['inf']]
    assert [float(r[0]) for r in list(csv.reader(io.StringIO(csv_text([column], rows))))[1:]] == [1 / 3, math.inf]
    assert Column('v', '').markdown_cell({'v': 0}) == '0' and markdown_lines([Column('v', '')], [])[0] == '| |'


def test_a_bad_alignment_is_refused():
    with pytest.raises(ValueError, match="column 'x': align must be one of"):
        Column('x', align='centre')
