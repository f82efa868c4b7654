"""One chart per analysis, drawn with matplotlib (Agg) and returned as inline SVG text.

SVG keeps the report a single self-contained file that renders offline, stays sharp at
any zoom, and keeps text as text (``svg.fonttype = none``), so figures can be searched.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import matplotlib

matplotlib.use("Agg")  # no display: figures only ever become files

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.typing import RcKeyType  # noqa: E402

from analytics.rows import (  # noqa: E402
    ChurnRow,
    DeflectionRow,
    DensityRow,
    FirstValueRow,
    GravityRow,
    MovementRow,
    OrbitLevelCount,
    RetentionRow,
    TriggerRow,
)

SEGMENT_COLOURS = {"member": "#3b5bdb", "non-member": "#adb5bd"}
LEVEL_COLOURS = {1: "#5f3dc4", 2: "#7950f2", 3: "#9775fa", 4: "#d0bfff"}  # inner orbit darkest
LEVEL_NAMES = {0: "no level", 1: "Orbit 1 (inner)", 2: "Orbit 2", 3: "Orbit 3", 4: "Orbit 4 (outer)"}
UP, HELD, DOWN = "#2f9e44", "#ced4da", "#e03131"
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "orbitstream",  # stable element ids: the same data draws the same file
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#868e96",
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e9ecef",
    "axes.axisbelow": True,
    "legend.frameon": False,
}


class _SegmentRow(Protocol):
    @property
    def segment(self) -> str: ...


K = TypeVar("K", bound=date)  # a cohort week or a period start
R = TypeVar("R", bound=_SegmentRow)


def day_label(value: date | datetime) -> str:
    return f"{value:%b} {value.day}"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


@contextmanager
def _figure(width: float = 7.2, height: float = 3.0, ncols: int = 1) -> Iterator[tuple[Figure, Any]]:
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained")
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG goes inline in HTML


def _empty(message: str) -> str:
    with _figure(height=1.2) as (fig, ax):
        ax.axis("off")
        ax.text(0.5, 0.5, message, ha="center", va="center", color="#868e96", fontsize=10)
        return _svg(fig)


def _grouped_bars(
    ax: Axes, labels: Sequence[str], series: dict[str, list[float | None]], notes: dict[str, list[str]]
) -> None:
    """Bars per label, one per series, each with its note above it."""
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        heights = [v or 0.0 for v in values]
        bars = ax.bar(xs, heights, width * 0.92, label=name, color=SEGMENT_COLOURS.get(name))
        ax.bar_label(bars, labels=notes[name], padding=2, fontsize=8, color="#495057")
    ax.set_xticks(range(len(labels)), labels)


def _by_segment(
    rows: Sequence[R],
    key: Callable[[R], K],
    rate: Callable[[R], float | None],
    note: Callable[[R], str],
) -> tuple[list[K], dict[str, list[float | None]], dict[str, list[str]]]:
    """Members' and non-members' bars for _grouped_bars: the rows' keys in order and, per key,
    each segment's rate and note (None and "" where the segment has no row for the key)."""
    keys = sorted({key(r) for r in rows})
    cells = {(key(r), r.segment): r for r in rows}
    series: dict[str, list[float | None]] = {}
    notes: dict[str, list[str]] = {}
    for segment in ("member", "non-member"):
        found = [cells.get((k, segment)) for k in keys]
        series[segment] = [rate(c) if c else None for c in found]
        notes[segment] = [note(c) if c else "" for c in found]
    return keys, series, notes


def _legend_above(ax: Axes, ncols: int) -> None:
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=ncols, fontsize=8)


def _whole_numbers(ax: Axes, axis: str = "y") -> None:
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))


def _percent_axis(ax: Axes, top: float = 1.0) -> None:
    ax.set_ylim(0, top * 1.15)
    ax.yaxis.set_major_formatter(lambda v, _pos: f"{v * 100:.0f}%")


def retention(rows: Sequence[RetentionRow], day: int) -> str:
    measured = [r for r in rows if r.measured]
    if not measured:
        return _empty(f"No signup cohort has reached day {day} yet")
    weeks, series, notes = _by_segment(
        measured, lambda r: r.cohort_week, lambda r: r.retention, lambda r: f"{r.retained}/{r.measured}"
    )
    with _figure() as (fig, ax):
        _grouped_bars(ax, [f"week of {day_label(w)}" for w in weeks], series, notes)
        _percent_axis(ax)
        ax.set_ylabel(f"retained at day {day}")
        _legend_above(ax, 2)
        return _svg(fig)


def churn(rows: Sequence[ChurnRow]) -> str:
    if not rows:
        return _empty("Nobody was active before any period of the window")
    periods, series, notes = _by_segment(
        rows, lambda r: r.period_start, lambda r: r.churn_rate, lambda r: f"{r.churned}/{r.active_before}"
    )
    with _figure() as (fig, ax):
        _grouped_bars(ax, [day_label(p) for p in periods], series, notes)
        _percent_axis(ax, max((v or 0.0) for vs in series.values() for v in vs) or 1.0)
        ax.set_ylabel("churned (of active the period before)")
        ax.set_xlabel("period starting")
        _legend_above(ax, 2)
        return _svg(fig)


def support_deflection(rows: Sequence[DeflectionRow]) -> str:
    if not any(r.community_resolved or r.tickets_opened for r in rows):
        return _empty("No resolved questions or support tickets in the window")
    labels = [day_label(r.period_start) for r in rows]
    resolved = [r.community_resolved for r in rows]
    tickets = [r.tickets_opened for r in rows]
    with _figure() as (fig, ax):
        ax.bar(labels, resolved, 0.6, label="resolved in the community", color=SEGMENT_COLOURS["member"])
        bars = ax.bar(labels, tickets, 0.6, bottom=resolved, label="support tickets", color="#f08c00")
        ax.bar_label(bars, labels=[f"{percent(r.deflection)} deflected" for r in rows], padding=2, fontsize=8)
        ax.set_ylim(0, max(a + b for a, b in zip(resolved, tickets, strict=True)) * 1.2)
        ax.set_ylabel("questions and tickets")
        ax.set_xlabel("period starting")
        _legend_above(ax, 2)
        _whole_numbers(ax)
        return _svg(fig)


def time_to_first_value(rows: Sequence[FirstValueRow]) -> str:
    if not rows:
        return _empty("No signups yet")
    with _figure(height=1.8) as (fig, ax):
        medians = [r.median_hours or 0.0 for r in rows]
        bars = ax.barh(
            [r.segment for r in rows], medians, 0.55, color=[SEGMENT_COLOURS[r.segment] for r in rows]
        )
        notes = [
            (f"median {r.median_hours:.1f} h" if r.median_hours is not None else "nobody yet")
            + f" · {r.reached_value}/{r.signups} reached value"
            for r in rows
        ]
        ax.bar_label(bars, labels=notes, padding=4, fontsize=8)
        ax.set_xlim(0, max(max(medians) * 1.6, 1.0))
        ax.invert_yaxis()
        ax.grid(axis="x", color="#e9ecef")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("hours from signup to first value (median)")
        return _svg(fig)


def network_density(rows: Sequence[DensityRow]) -> str:
    if not any(r.members for r in rows):
        return _empty("No member has an Orbit level yet")
    names = [LEVEL_NAMES[r.orbit_level] for r in rows]
    colours = [LEVEL_COLOURS[r.orbit_level] for r in rows]
    with _figure(ncols=2) as (fig, (left, right)):
        bars = left.bar(names, [r.density or 0.0 for r in rows], color=colours)
        left.bar_label(bars, labels=[percent(r.density) for r in rows], padding=2, fontsize=8)
        _percent_axis(left, max((r.density or 0.0) for r in rows) or 1.0)
        left.set_title("density: connected pairs / possible pairs", fontsize=9)
        bars = right.bar(names, [r.connections_per_member or 0.0 for r in rows], color=colours)
        right.bar_label(bars, labels=[f"{r.connections} / {r.members}" for r in rows], padding=2, fontsize=8)
        right.set_title("connections per member (connections / members)", fontsize=9)
        right.set_ylim(0, max((r.connections_per_member or 0.0) for r in rows) * 1.25 or 1.0)
        for ax in (left, right):
            ax.tick_params(axis="x", labelsize=8)
        return _svg(fig)


def orbit_distribution(rows: Sequence[OrbitLevelCount]) -> str:
    if not any(r.members for r in rows):
        return _empty("No member has an Orbit level yet")
    ends = sorted({r.period_end for r in rows})
    counts = {(r.period_end, r.orbit_level): r.members for r in rows}
    labels = [day_label(e) for e in ends]
    with _figure() as (fig, ax):
        bottom = [0] * len(ends)
        for level in (1, 2, 3, 4):  # the inner orbit at the base of each bar
            values = [counts.get((e, level), 0) for e in ends]
            ax.bar(labels, values, 0.6, bottom=bottom, label=LEVEL_NAMES[level], color=LEVEL_COLOURS[level])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylim(0, max(bottom) * 1.1)
        ax.set_ylabel("members")
        ax.set_xlabel("at the end of the period ending")
        _legend_above(ax, 4)
        _whole_numbers(ax)
        return _svg(fig)


def gravity(rows: Sequence[GravityRow]) -> str:
    if not any(r.gravity is not None for r in rows):
        return _empty("No member has an Orbit level yet")
    labels = [day_label(r.period_start) for r in rows]
    values = [r.gravity or 0.0 for r in rows]
    with _figure() as (fig, ax):
        bars = ax.bar(labels, values, 0.6, color=[UP if v >= 0 else DOWN for v in values])
        ax.bar_label(bars, labels=[f"{v:+.1f}" for v in values], padding=2, fontsize=8)
        ax.axhline(0, color="#868e96", linewidth=0.8)
        span = max(abs(v) for v in values) or 1.0
        ax.set_ylim(min(0.0, min(values)) - 0.15 * span, max(0.0, max(values)) + 0.2 * span)
        ax.set_ylabel("Δ weighted commitment / member")
        ax.set_xlabel("period starting")
        return _svg(fig)


def orbit_movement(rows: Sequence[MovementRow]) -> str:
    periods = sorted({r.period_start for r in rows})
    totals = {p: [0, 0, 0] for p in periods}
    for r in rows:
        cell = totals[r.period_start]
        cell[0], cell[1], cell[2] = cell[0] + r.moved_up, cell[1] + r.held, cell[2] + r.moved_down
    periods = [p for p in periods if sum(totals[p])]
    if not periods:
        return _empty("No member had a level at both ends of a period")
    labels = [day_label(p) for p in periods]
    with _figure() as (fig, ax):
        left = [0.0] * len(periods)
        for i, (name, colour) in enumerate((("moved up", UP), ("held", HELD), ("moved down", DOWN))):
            shares = [totals[p][i] / sum(totals[p]) for p in periods]
            bars = ax.barh(labels, shares, 0.6, left=left, label=name, color=colour)
            ax.bar_label(bars, labels=[percent(s) if s >= 0.08 else "" for s in shares], label_type="center")
            left = [a + b for a, b in zip(left, shares, strict=True)]
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v * 100:.0f}%")
        ax.grid(axis="y", visible=False)
        ax.set_ylabel("period starting")
        _legend_above(ax, 3)
        return _svg(fig)


def triggers(rows: Sequence[TriggerRow]) -> str:
    if not rows:
        return _empty("No churn-risk trigger fired in the window")
    reasons = [r.reason for r in rows]
    with _figure(height=max(1.6, 0.45 * len(rows) + 0.8)) as (fig, ax):
        bars = ax.barh(reasons, [r.users for r in rows], 0.6, label="users triggered", color="#ffd8a8")
        ax.barh(reasons, [r.users_came_back for r in rows], 0.6, label="came back", color="#f08c00")
        notes = [f"{r.users_came_back} of {r.users} came back ({percent(r.came_back_share)})" for r in rows]
        ax.bar_label(bars, labels=notes, padding=4, fontsize=8)
        ax.set_xlim(0, max(r.users for r in rows) * 1.8)
        ax.invert_yaxis()
        ax.grid(axis="x", color="#e9ecef")
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("users")
        _legend_above(ax, 2)
        _whole_numbers(ax, "x")
        return _svg(fig)
