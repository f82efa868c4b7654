"""``orbitstream report``: every analysis as one self-contained HTML file (inline SVG, no scripts).

``collect`` runs the analyses for one as-of time and window, ``render`` turns the results
into HTML, ``write_report`` does both. The file needs nothing but a browser, offline too.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from analytics import catalog, charts, playbook_charts, summary
from analytics.api import Analyses
from analytics.definitions import definitions as line_definitions
from analytics.params import Window
from analytics.rows import (
    ChurnRow,
    ConnectionsRow,
    DeflectionRow,
    DensityRow,
    FirstValueRow,
    GravityRow,
    InteractionRow,
    LifetimeValueRow,
    MentorOutcomeRow,
    MovementRow,
    OnboardingRow,
    OrbitLevelCount,
    RetentionRow,
    RevenueRow,
    SegmentCell,
    TriggerRow,
)
from foundation.settings import AnalysesSettings

PERCENT_FIELDS = {
    "retention", "churn_rate", "deflection", "reached_share", "density", "came_back_share",
    "net_revenue_retention", "retention_day", "retention_long_day", "relational_share", "connected_share",
    "got_answer_share", "error_stopped_share",
}  # fmt: skip
LEVEL_FIELDS = {"orbit_level", "from_level"}


@dataclass(frozen=True)
class DemoPopulation:
    """How the demo's synthetic population was built: the report says so in a banner, so
    nobody takes a gap the generator put there for a finding."""

    churn_share_members: float
    churn_share_non_members: float

    def banner(self) -> str:
        return (
            "Demo data. The synthetic population is built with members churning less: "
            f"{self.churn_share_members:.0%} of members are set to churn (churn_share_members "
            f"{self.churn_share_members:g}) against {self.churn_share_non_members:.0%} of non-members "
            f"(churn_share_non_members {self.churn_share_non_members:g}). Any retention or churn gap "
            "between members and non-members below was put there by the generator: it shows the "
            "analyses work, not that the community keeps anyone."
        )


@dataclass(frozen=True)
class ReportData:
    as_of: datetime
    window: Window
    settings: AnalysesSettings
    source: str
    retention: list[RetentionRow]
    churn: list[ChurnRow]
    support_deflection: list[DeflectionRow]
    time_to_first_value: list[FirstValueRow]
    network_density: list[DensityRow]
    orbit_distribution: list[OrbitLevelCount]
    gravity: list[GravityRow]
    orbit_movement: list[MovementRow]
    triggers: list[TriggerRow]
    revenue: list[RevenueRow]
    lifetime_value: list[LifetimeValueRow]
    onboarding: list[OnboardingRow]
    segments: list[SegmentCell]
    interactions: list[InteractionRow]
    connections: list[ConnectionsRow]
    mentor_outcome: list[MentorOutcomeRow]
    demo: DemoPopulation | None = None


def collect(
    analyses: Analyses,
    as_of: datetime | None = None,
    window: Window | None = None,
    source: str = "",
    demo: DemoPopulation | None = None,
) -> ReportData:
    """Run every analysis: point-in-time ones at ``as_of``, the others over ``window``."""
    as_of = as_of or analyses.default_as_of()
    window = window or analyses.default_window(as_of)
    return ReportData(
        as_of=as_of,
        window=window,
        settings=analyses.settings,
        source=source,
        retention=analyses.retention(as_of),
        churn=analyses.churn(window),
        support_deflection=analyses.support_deflection(window),
        time_to_first_value=analyses.time_to_first_value(as_of),
        network_density=analyses.network_density(as_of),
        orbit_distribution=analyses.orbit_distribution(window),
        gravity=analyses.gravity(window),
        orbit_movement=analyses.orbit_movement(window),
        triggers=analyses.triggers(window, as_of),
        revenue=analyses.revenue(window),
        lifetime_value=analyses.lifetime_value(as_of),
        onboarding=analyses.onboarding(as_of),
        segments=analyses.segments(window),
        interactions=analyses.interactions(window),
        connections=analyses.connections(window),
        mentor_outcome=analyses.mentor_outcome(as_of),
        demo=demo,
    )


def cell_text(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if name in PERCENT_FIELDS:
        return f"{value * 100:.1f}%"
    if name.endswith("_cents"):
        return playbook_charts.dollars(value)
    if name in LEVEL_FIELDS:
        return charts.LEVEL_NAMES.get(value, str(value))
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}" if (value.hour, value.minute) == (0, 0) else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _table(rows: Sequence[Any]) -> str:
    if not rows:
        return '<p class="none">No rows.</p>'
    names = [f.name for f in fields(rows[0])]
    head = "".join(f"<th>{html.escape(n.replace('_', ' '))}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell_text(n, getattr(r, n)))}</td>" for n in names) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _charts(data: ReportData) -> dict[str, Callable[[], str]]:
    return {
        "retention": lambda: charts.retention(data.retention, data.settings.retention_day),
        "churn": lambda: charts.churn(data.churn),
        "support_deflection": lambda: charts.support_deflection(data.support_deflection),
        "time_to_first_value": lambda: charts.time_to_first_value(data.time_to_first_value),
        "network_density": lambda: charts.network_density(data.network_density),
        "orbit_distribution": lambda: charts.orbit_distribution(data.orbit_distribution),
        "gravity": lambda: charts.gravity(data.gravity),
        "orbit_movement": lambda: charts.orbit_movement(data.orbit_movement),
        "triggers": lambda: charts.triggers(data.triggers),
        "revenue": lambda: playbook_charts.revenue(data.revenue),
        "lifetime_value": lambda: playbook_charts.lifetime_value(data.lifetime_value),
        "onboarding": lambda: playbook_charts.onboarding(
            data.onboarding, data.settings.retention_day, data.settings.long_retention_day
        ),
        "segments": lambda: playbook_charts.segments(data.segments),
        "interactions": lambda: playbook_charts.interactions(data.interactions),
        "connections": lambda: playbook_charts.connections(data.connections),
        "mentor_outcome": lambda: playbook_charts.mentor_outcome(
            data.mentor_outcome, data.settings.retention_day
        ),
    }


def _headlines(data: ReportData) -> list[tuple[str, str, str]]:
    """(label, members, non-members or detail) cards at the top."""
    churn = summary.churn_by_segment(data.churn)
    retained = summary.retention_by_segment(data.retention)
    hours = summary.median_hours(data.time_to_first_value)
    moves = summary.movement_in_last_period(data.orbit_movement)
    gravity = summary.latest_gravity(data.gravity)
    nrr = summary.last_net_revenue_retention(data.revenue)
    onboarded = summary.onboarding_retention(data.onboarding)

    def h(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f} h"

    return [
        ("Churn per period", f"members {churn['member']}", f"non-members {churn['non-member']}"),
        (f"Retained at day {data.settings.retention_day}", f"members {retained['member']}",
         f"non-members {retained['non-member']}"),
        ("Median time to first value", f"members {h(hours['member'])}",
         f"non-members {h(hours['non-member'])}"),
        ("Support deflection", str(summary.deflection(data.support_deflection)),
         "resolved in the community"),
        ("Gravity, last period", "–" if gravity is None else f"{gravity:+.2f}",
         "weighted commitment per member"),
        ("Orbit moves, last period", "–" if moves is None else f"up {moves[0]}",
         "" if moves is None else f"held {moves[1]}, down {moves[2]}"),
        ("Net revenue retention, last period", f"members {charts.percent(nrr['member'])}",
         f"non-members {charts.percent(nrr['non-member'])}"),
        (f"Retained at day {data.settings.retention_day} after joining",
         f"onboarded in week one {onboarded['onboarded']}", f"not {onboarded['not onboarded']}"),
    ]  # fmt: skip


CSS = """
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#212529;margin:0;background:#f8f9fa}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 4px}
.meta,.question,.definition,.none{color:#495057}.definition{font-size:12px}
.demo{background:#fff3bf;border-left:4px solid #f08c00;border-radius:4px;padding:10px 14px;margin:12px 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px;margin:20px 0}
.card{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .label{font-size:12px;color:#868e96;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:17px;font-weight:600}.card .detail{color:#495057}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
.chart svg{width:100%;height:auto}
table{border-collapse:collapse;font-size:12px;margin-top:8px}
th,td{padding:3px 10px;border-bottom:1px solid #e9ecef;text-align:right}th{color:#495057;font-weight:600}
th:first-child,td:first-child{text-align:left}
"""


def render(data: ReportData) -> str:
    definitions = line_definitions(data.settings)
    drawn = _charts(data)
    w = data.window
    sections = []
    for name, analysis in catalog.ANALYSES.items():
        rows: list[Any] = getattr(data, name)
        sections.append(
            f'<section id="{name}"><h2>{html.escape(analysis.title)}</h2>'
            f'<p class="question">{html.escape(analysis.question)}</p>'
            f'<div class="chart">{drawn[name]()}</div>'
            f'<p class="definition">{html.escape(definitions[name])} SQL: analytics/sql/{name}.sql</p>'
            f"{_table(rows)}</section>"
        )
    cards = "".join(
        f'<div class="card"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div><div class="detail">{html.escape(detail)}</div></div>'
        for label, value, detail in _headlines(data)
    )
    meta = (
        f"As of {data.as_of:%Y-%m-%d %H:%M} UTC · {w.periods} periods of {w.period_days} days, "
        f"{w.start:%Y-%m-%d} to {w.last_end:%Y-%m-%d}" + (f" · {data.source}" if data.source else "")
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>orbitstream report {data.as_of:%Y-%m-%d}</title><style>{CSS}</style></head><body><main>"
        "<h1>Does the community keep anyone?</h1>"
        f'<p class="meta">{html.escape(meta)}</p>'
        + (f'<p class="demo" id="demo">{html.escape(data.demo.banner())}</p>' if data.demo else "")
        + f'<div class="cards">{cards}</div>'
        + "".join(sections)
        + '<p class="meta">Definitions: docs/analyses.md. Generated by orbitstream report.</p>'
        + "</main></body></html>"
    )


def write_report(
    analyses: Analyses,
    out: Path,
    as_of: datetime | None = None,
    window: Window | None = None,
    source: str = "",
    demo: DemoPopulation | None = None,
) -> Path:
    """Collect, render and write the report to ``out`` (parent directories made as needed).

    ``demo``: the report is of the demo's synthetic data, built as it says (a banner).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(collect(analyses, as_of, window, source, demo)), encoding="utf-8")
    return out
