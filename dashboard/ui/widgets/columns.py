"""Column widths that fit the panel: the flexible column (a title) takes the room the others leave.

A table's columns say how narrow they may get (`min_width`), how wide their content may make them
(`max_width`), which one stretches (`flex`) and which go first when even the minimums do not fit
(`keep`, lowest first). `fit_widths` is pure, so every size can be checked without a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Justify = Literal["left", "right"]


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its header, its key, and how it gives and takes room."""

    label: str
    key: str
    min_width: int = 0  # 0: the header's width
    max_width: int | None = None  # content wider than this is cut with an ellipsis; None: no cap
    flex: bool = False  # takes the room left over (one column per table)
    share: float = 0.0  # a flexible column keeps at least this fraction of the width (others go first)
    keep: int = 0  # when the minimums do not fit, the lowest `keep` is hidden first
    justify: Justify = "left"
    # A time, a count or an age: cut, it says nothing ('07:…', '1,6…'), so it is shown whole (up to
    # max_width) or hidden, never shrunk below its content.
    whole: bool = False

    @property
    def floor(self) -> int:
        return max(self.min_width, len(self.label), 1)


def desired_width(column: ColumnSpec, natural: int) -> int:
    """The width the column's content asks for, within its bounds."""
    wanted = max(natural, column.floor)
    return wanted if column.max_width is None else max(column.floor, min(wanted, column.max_width))


def fit_widths(
    columns: Sequence[ColumnSpec], natural: Sequence[int], available: int, *, padding: int = 2
) -> tuple[int | None, ...]:
    """Each column's width in cells (None: hidden) so that the table fills `available` cells.

    A `whole` column's minimum is its content's width (within max_width): it is hidden before it is cut.

    `natural` is each column's widest cell; `padding` the cells each column spends around its content.
    Room is conceded in this order: fixed columns shrink to their minimum (lowest `keep` first), then
    whole columns are hidden (lowest `keep` first); the flexible column keeps its `share` of the width
    (or its minimum) throughout.
    """
    columns = [_whole_floor(column, width) for column, width in zip(columns, natural, strict=False)]
    visible = list(range(len(columns)))
    widths: dict[int, int] = {}
    room = 0
    while visible:
        widths, room = _shrink_to_fit(columns, natural, visible, available, padding)
        if room >= 0 or len(visible) == 1:
            break
        visible.remove(min(visible, key=lambda index: (columns[index].keep, -index)))
    if room > 0:
        _share_room(columns, natural, visible, widths, room)
    if room < 0:  # a lone column narrower than its minimum: show what fits
        only = visible[0]
        widths[only] = max(1, widths[only] + room)
    return tuple(widths.get(index) for index in range(len(columns)))


def _whole_floor(column: ColumnSpec, natural: int) -> ColumnSpec:
    """A whole column with its minimum raised to the width its content needs."""
    if not column.whole:
        return column
    from dataclasses import replace

    return replace(column, min_width=desired_width(column, natural))


def _share_room(
    columns: Sequence[ColumnSpec],
    natural: Sequence[int],
    visible: list[int],
    widths: dict[int, int],
    room: int,
) -> None:
    """Room left over: the flexible column up to its content, then columns cut below their content's
    width (most kept first), then the rest to the flexible column again."""
    flexible = [index for index in visible if columns[index].flex]
    cut = sorted((i for i in visible if not columns[i].flex), key=lambda i: (-columns[i].keep, i))
    for index in [*flexible, *cut]:
        grow = min(room, max(0, natural[index] - widths[index]))
        widths[index] += grow
        room -= grow
    if flexible:
        widths[flexible[0]] += room


def _shrink_to_fit(
    columns: Sequence[ColumnSpec], natural: Sequence[int], visible: list[int], available: int, padding: int
) -> tuple[dict[int, int], int]:
    """Widths for the visible columns, shrunk as far as their minimums allow; the room left (or missing)."""
    widths: dict[int, int] = {}
    for index in visible:
        column = columns[index]
        if column.flex:
            widths[index] = max(column.floor, round(available * column.share))
        else:
            widths[index] = desired_width(column, natural[index])
    room = available - sum(widths.values()) - padding * len(visible)
    fixed = sorted((i for i in visible if not columns[i].flex), key=lambda i: (columns[i].keep, -i))
    for index in fixed:
        if room >= 0:
            break
        give = min(-room, widths[index] - columns[index].floor)
        widths[index] -= give
        room += give
    return widths, room
