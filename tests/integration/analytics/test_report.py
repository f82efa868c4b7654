"""The HTML report on the hand-built dataset: one section per analysis, each with its chart
and its figures, headline totals worked out from the numbers in test_analyses.py, and the
``orbitstream report`` command writing the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analytics import Analyses
from analytics.catalog import ANALYSES
from analytics.report import write_report
from orbitstream.cli import main
from tests.integration.analytics.dataset import AS_OF, WINDOW

pytestmark = pytest.mark.integration

# Figures each section's table must show (formatted as the report formats them).
EXPECTED = {
    "retention": ["2026-01-05", "75.0%", "66.7%", "2026-02-09"],
    "churn": ["33.3%", "100.0%", "50.0%"],
    "support_deflection": ["66.7%", "33.3%"],
    "time_to_first_value": ["13.50", "19.25", "24.00", "80.0%", "60.0%"],
    # As of Feb 20 the m2-x edge of Feb 17 counts too: level 2 has all 3 of its 3 pairs.
    "network_density": ["Orbit 2", "100.0%", "1.00"],
    "orbit_distribution": ["Orbit 1 (inner)", "Orbit 4 (outer)", "2026-02-16"],
    "gravity": ["167.00", "216.00", "264.00", "8.17", "8.00"],
    "orbit_movement": ["2026-02-02", "2026-02-09", "Orbit 4 (outer)"],
    "triggers": ["API_ERRORS", "USAGE_DROP", "MEMBER_SILENT", "50.0%"],
}
TABLE_ROWS = {
    "retention": 5, "churn": 4, "support_deflection": 2, "time_to_first_value": 2, "network_density": 4,
    "orbit_distribution": 8, "gravity": 2, "orbit_movement": 8, "triggers": 3,
}  # fmt: skip


def section(page: str, name: str) -> str:
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert found, f"no section {name}"
    return found.group(1)


@pytest.fixture(scope="module")
def page(analyses: Analyses, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = write_report(analyses, tmp_path_factory.mktemp("report") / "report.html", AS_OF, WINDOW, "test")
    return out.read_text()


def test_every_analysis_has_a_section_with_a_chart_and_its_figures(page: str) -> None:
    assert list(ANALYSES) == re.findall(r'<section id="(\w+)">', page)
    for name, figures in EXPECTED.items():
        body = section(page, name)
        assert body.count("<svg") == 1, name
        assert "No rows." not in body and "yet" not in body, name  # data, not a placeholder
        table = body[body.index("<table>") :]
        assert table.count("<tr>") == TABLE_ROWS[name] + 1, name  # + the header row
        for figure in figures:
            assert f"<td>{figure}</td>" in table, (name, figure)


def test_charts_draw_the_numbers_they_show(page: str) -> None:
    # Text stays text in the SVG (svg.fonttype none), so the labels can be checked.
    assert "3/4" in section(page, "retention") and "2/3" in section(page, "retention")
    assert "67% deflected" in section(page, "support_deflection")
    assert "median 13.5 h" in section(page, "time_to_first_value")
    assert "+8.2" in section(page, "gravity")
    assert "1 of 2 came back (50%)" in section(page, "triggers")


def test_headline_figures_total_the_window(page: str) -> None:
    cards = page[page.index('<div class="cards">') : page.index("<section")]
    # Churn over both periods: members (1 + 3) / (3 + 6), non-members (2 + 0) / (2 + 1).
    assert "members 44% (4/9)" in cards and "non-members 67% (2/3)" in cards
    # Retention over measured cohorts: members (3 + 1) / (4 + 1), non-members (2 + 0) / (3 + 1).
    assert "members 80% (4/5)" in cards and "non-members 50% (2/4)" in cards
    # Deflection: (2 + 1) resolved of (2 + 1) + (1 + 2) tickets.
    assert "50% (3/6)" in cards
    assert "members 13.5 h" in cards and "non-members 24.0 h" in cards
    assert "+8.00" in cards
    # Last period's moves: up m1, m2, x; held m4; down m3, m5.
    assert "up 50% (3/6)" in cards and "held 17% (1/6), down 33% (2/6)" in cards


def test_the_report_is_one_self_contained_file(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    for outside in ("<script", "<link", "<img", "src="):
        assert outside not in page


@pytest.fixture
def cli_env(warehouse: Any, analyses_db: str) -> dict[str, str]:
    """Settings for the orbitstream command: the test warehouse and the dataset's database."""
    return {
        "ORBITSTREAM_WAREHOUSE__HOST": warehouse.host,
        "ORBITSTREAM_WAREHOUSE__PORT": str(warehouse.port),
        "ORBITSTREAM_WAREHOUSE__DATABASE": analyses_db,
    }


def test_the_report_command_writes_the_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    args = ["report", "--out", str(out), *"--as-of 2026-02-20 --start 2026-02-02 --end 2026-02-16".split()]
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    text = out.read_text()
    assert text.count("<svg") == len(ANALYSES)
    assert "<td>8.17</td>" in section(text, "gravity")
    assert "2 periods of 7 days, 2026-02-02 to 2026-02-16" in text


def test_analyses_run_prints_an_analysis(cli_env: dict[str, str]) -> None:
    args = "analyses run support_deflection --start 2026-02-02 --end 2026-02-16 --format csv".split()
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "period_start,community_resolved,tickets_opened,deflection",
        "2026-02-02 00:00:00+00:00,2,1,0.6666666666666666",
        "2026-02-09 00:00:00+00:00,1,2,0.3333333333333333",
    ]


def test_an_empty_warehouse_gives_a_report_that_says_so(warehouse: Any, sink_db: str, tmp_path: Path) -> None:
    empty = Analyses(warehouse.client(database=sink_db))
    page = write_report(empty, tmp_path / "empty.html").read_text()
    assert re.findall(r'<section id="(\w+)">', page) == list(ANALYSES)
    assert "No signup cohort has reached day 30 yet" in section(page, "retention")
    assert "No churn-risk trigger fired in the window" in section(page, "triggers")
    assert "No member has an Orbit level yet" in section(page, "gravity")
    assert page.count("<svg") == len(ANALYSES)
