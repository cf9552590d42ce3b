"""Printed tables that render as HTML tables on the website and as aligned text elsewhere.

A chapter builds a :class:`Table` from rows and lets the notebook display it (last
expression of a cell, or ``display(table)``). Jupyter and the book use the HTML form
(``_repr_html_``: a real ``<table>`` with a ``<caption>``, which the website can wrap and
scroll on a narrow screen); a terminal, nbval's text comparison and a plain ``print`` use
the aligned text form (``__repr__``/``__str__``). Both forms come from the same cells, so
they always agree.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["Table", "table"]


def _format_cell(value, fmt: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return format(float(value), fmt)
    return str(value)


class Table:
    """A small table of already-computed values.

    Parameters
    ----------
    rows : sequence of mappings or of sequences
        One entry per row. Mappings are read by ``columns`` (their keys, in the order
        of the first row, when ``columns`` is not given).
    columns : sequence of str, optional
        Column headers. Required when the rows are sequences.
    caption : str, optional
        Shown above the table (``<caption>`` in HTML, first line in text).
    floatfmt : str or mapping of column -> str
        Format spec for real numbers (default ``".3f"``); a mapping sets it per column
        (missing columns use ``".3f"``).
    """

    def __init__(self, rows, columns=None, *, caption: str | None = None, floatfmt=".3f"):
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise TypeError(f"rows must be a list of rows, got {type(rows).__name__}")
        rows = list(rows)
        if columns is None:
            if not rows or not isinstance(rows[0], Mapping):
                raise ValueError("columns must be given unless rows are mappings")
            columns = list(rows[0].keys())
        if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
            raise TypeError(f"columns must be a list of names, got {type(columns).__name__}")
        columns = [str(c) for c in columns]
        if not columns:
            raise ValueError("columns must name at least one column")
        body = []
        for i, row in enumerate(rows):
            if isinstance(row, Mapping):
                missing = [c for c in columns if c not in row]
                if missing:
                    raise ValueError(f"rows[{i}] has no value for column(s) {missing}")
                values = [row[c] for c in columns]
            elif isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
                raise TypeError(
                    f"rows[{i}] must be a mapping or a sequence, got {type(row).__name__}"
                )
            else:
                values = list(row)
                if len(values) != len(columns):
                    raise ValueError(
                        f"rows[{i}] has {len(values)} values but there are {len(columns)} columns"
                    )
            body.append(values)
        if isinstance(floatfmt, str):
            fmts = dict.fromkeys(columns, floatfmt)
        elif isinstance(floatfmt, Mapping):
            fmts = {c: str(floatfmt.get(c, ".3f")) for c in columns}
        else:
            raise TypeError(f"floatfmt must be a str or a mapping, got {type(floatfmt).__name__}")
        if caption is not None and not isinstance(caption, str):
            raise TypeError(f"caption must be a str or None, got {type(caption).__name__}")
        self.columns = columns
        self.caption = caption
        self.cells = [
            [_format_cell(v, fmts[c]) for v, c in zip(values, columns, strict=True)]
            for values in body
        ]
        self._numeric = [
            all(
                isinstance(values[j], numbers.Number) and not isinstance(values[j], bool)
                for values in body
            )
            and bool(body)
            for j in range(len(columns))
        ]

    def __str__(self) -> str:
        widths = [
            max([len(c)] + [len(row[j]) for row in self.cells]) for j, c in enumerate(self.columns)
        ]

        def line(items):
            parts = [
                s.rjust(w) if num else s.ljust(w)
                for s, w, num in zip(items, widths, self._numeric, strict=True)
            ]
            return "  ".join(parts).rstrip()

        out = [self.caption] if self.caption else []
        out.append(line(self.columns))
        out.append("  ".join("-" * w for w in widths))
        out.extend(line(row) for row in self.cells)
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def cls(j):
            return ' class="wi-num"' if self._numeric[j] else ""

        head = "".join(
            f'<th scope="col"{cls(j)}>{html.escape(c)}</th>' for j, c in enumerate(self.columns)
        )
        body = "".join(
            "<tr>"
            + "".join(f"<td{cls(j)}>{html.escape(v)}</td>" for j, v in enumerate(row))
            + "</tr>"
            for row in self.cells
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (
            '<div class="wi-table-wrap" role="region" tabindex="0" aria-label="table">'
            f'<table class="wi-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )


def table(rows, columns=None, *, caption: str | None = None, floatfmt=".3f") -> Table:
    """Build a :class:`Table` (see there); the notebook displays it as an HTML table."""
    return Table(rows, columns, caption=caption, floatfmt=floatfmt)
