"""Charts of the playbook analyses (revenue, lifetime value, onboarding, segments,
interactions, connections, mentor outcome), drawn like those of :mod:`charts`: matplotlib
(Agg) to inline SVG, text kept as text."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.charts import (
    LEVEL_NAMES,
    SEGMENT_COLOURS,
    _by_segment,
    _empty,
    _figure,
    _grouped_bars,
    _legend_above,
    _percent_axis,
    _svg,
    day_label,
    percent,
)
from analytics.rows import (
    ConnectionsRow,
    InteractionRow,
    LifetimeValueRow,
    MentorOutcomeRow,
    OnboardingRow,
    RevenueRow,
    SegmentCell,
)

STAGES = ("trial", "activated", "habitual", "power")
# The group the playbook hopes does better is drawn in the members' colour.
HOPED, OTHERS = SEGMENT_COLOURS["member"], SEGMENT_COLOURS["non-member"]
GROUP_COLOURS = {"onboarded": HOPED, "not onboarded": OTHERS, "suggested": HOPED, "not suggested": OTHERS}


def dollars(cents: float) -> str:
    return f"${cents / 100:,.2f}"


def _fraction(part: int, whole: int) -> str:
    return f"{part}/{whole}" if whole else "–"


def _groups_bars(
    labels: Sequence[str], groups: dict[str, tuple[list[float | None], list[str]]], ylabel: str
) -> str:
    """Rates per label, one bar per group, each with its note; a percent axis."""
    with _figure() as (fig, ax):
        width = 0.8 / len(groups)
        for i, (name, (values, notes)) in enumerate(groups.items()):
            xs = [x + (i - (len(groups) - 1) / 2) * width for x in range(len(labels))]
            bars = ax.bar(xs, [v or 0.0 for v in values], width * 0.92, label=name, color=GROUP_COLOURS[name])
            ax.bar_label(bars, labels=notes, padding=2, fontsize=8, color="#495057")
        ax.set_xticks(range(len(labels)), labels)
        _percent_axis(ax, max((v or 0.0) for values, _ in groups.values() for v in values) or 1.0)
        ax.set_ylabel(ylabel)
        _legend_above(ax, len(groups))
        return _svg(fig)


def revenue(rows: Sequence[RevenueRow]) -> str:
    if not any(r.mrr_start_cents for r in rows):
        return _empty("No paying customer at the start of any period of the window")
    periods, series, notes = _by_segment(
        rows,
        lambda r: r.period_start,
        lambda r: r.net_revenue_retention,
        lambda r: f"{percent(r.net_revenue_retention)} of {dollars(r.mrr_start_cents)}",
    )
    with _figure() as (fig, ax):
        _grouped_bars(ax, [day_label(p) for p in periods], series, notes)
        _percent_axis(ax, max((v or 0.0) for vs in series.values() for v in vs) or 1.0)
        ax.axhline(1.0, color="#868e96", linewidth=0.8, linestyle="--")
        ax.set_ylabel("net revenue retention")
        ax.set_xlabel("period starting")
        _legend_above(ax, 2)
        return _svg(fig)


def lifetime_value(rows: Sequence[LifetimeValueRow]) -> str:
    if not rows:
        return _empty("No signups yet")
    if not any(r.ltv_to_date_cents for r in rows):
        return _empty("No signup has paid anything yet (free plans only)")
    weeks, series, notes = _by_segment(
        rows,
        lambda r: r.cohort_week,
        lambda r: r.ltv_per_signup_cents / 100,
        lambda r: f"{dollars(r.ltv_per_signup_cents)} ({r.signups})",
    )
    with _figure() as (fig, ax):
        _grouped_bars(ax, [f"week of {day_label(w)}" for w in weeks], series, notes)
        ax.set_ylim(0, max((v or 0.0) for vs in series.values() for v in vs) * 1.2 or 1.0)
        ax.set_ylabel("revenue to date per signup ($)")
        _legend_above(ax, 2)
        return _svg(fig)


def onboarding(rows: Sequence[OnboardingRow], day: int, long_day: int) -> str:
    if not any(r.measured_day for r in rows):
        return _empty(f"No member has reached day {day} after joining yet")
    groups = {
        r.segment: (
            [r.retention_day, r.retention_long_day],
            [_fraction(r.retained_day, r.measured_day), _fraction(r.retained_long_day, r.measured_long_day)],
        )
        for r in rows
    }
    return _groups_bars([f"day {day}", f"day {long_day}"], groups, "retained (of members measured)")


def segments(rows: Sequence[SegmentCell]) -> str:
    if not any(c.active_before for c in rows):
        return _empty("Nobody was active before any period of the window")
    levels = sorted({c.orbit_level for c in rows})
    cells = {(c.orbit_level, c.usage_stage): c for c in rows}
    grid = [[cells[(lv, s)].churn_rate if (lv, s) in cells else None for s in STAGES] for lv in levels]
    with _figure(height=3.2) as (fig, ax):
        image = ax.imshow(
            [[float("nan") if v is None else v for v in row] for row in grid],
            cmap="Reds", vmin=0.0, vmax=1.0, aspect="auto",
        )  # fmt: skip
        for y, level in enumerate(levels):
            for x, stage in enumerate(STAGES):
                c = cells.get((level, stage))
                if c is not None and c.active_before:
                    text = f"{percent(c.churn_rate)}\n{c.churned}/{c.active_before}"
                    dark = (c.churn_rate or 0.0) > 0.6
                    colour = "white" if dark else "#212529"
                    ax.text(x, y, text, ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(STAGES)), STAGES)
        ax.set_yticks(range(len(levels)), [LEVEL_NAMES.get(lv, str(lv)) for lv in levels])
        ax.grid(visible=False)
        ax.set_xlabel("usage stage at the period's start")
        fig.colorbar(
            image, ax=ax, label="churned (of active the period before)", format=lambda v, _p: percent(v)
        )
        return _svg(fig)


def interactions(rows: Sequence[InteractionRow]) -> str:
    if not any(r.support_requests or r.collaborative for r in rows):
        return _empty("No support requests or collaborative interactions in the window")
    periods, series, notes = _by_segment(
        rows,
        lambda r: r.period_start,
        lambda r: r.relational_share,
        lambda r: f"{r.collaborative} : {r.support_requests}",
    )
    with _figure() as (fig, ax):
        _grouped_bars(ax, [day_label(p) for p in periods], series, notes)
        _percent_axis(ax)
        ax.set_ylabel("relational share (collaborative : support)")
        ax.set_xlabel("period starting")
        _legend_above(ax, 2)
        return _svg(fig)


def connections(rows: Sequence[ConnectionsRow]) -> str:
    if not any(r.members for r in rows):
        return _empty("No member has an Orbit level yet")
    labels = [day_label(r.period_end) for r in rows]
    values = [r.connections_per_member or 0.0 for r in rows]
    with _figure() as (fig, ax):
        ax.plot(labels, values, marker="o", color=SEGMENT_COLOURS["member"])
        for x, (value, r) in enumerate(zip(values, rows, strict=True)):
            ax.annotate(f"{value:.2f}: {r.connected_members} of {r.members} connected", (x, value),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)  # fmt: skip
        ax.set_ylim(0, max(values) * 1.3 or 1.0)
        ax.margins(x=0.15)  # room for the first and last labels
        ax.set_ylabel("meaningful connections per member")
        ax.set_xlabel("at the end of the period ending")
        return _svg(fig)


def mentor_outcome(rows: Sequence[MentorOutcomeRow], day: int) -> str:
    if not rows:
        return _empty("No mentor suggestion yet")
    groups = {
        r.segment: (
            [r.got_answer_share, r.error_stopped_share, r.retention_day],
            [
                _fraction(r.got_answer, r.measured_followup),
                _fraction(r.error_stopped, r.measured_followup),
                _fraction(r.retained_day, r.measured_day),
            ],
        )
        for r in rows
    }
    labels = ["got an answer", "error stopped", f"retained at day {day}"]
    return _groups_bars(labels, groups, "share of users")
