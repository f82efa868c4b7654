"""The playbook analyses' report sections on their hand-built dataset (playbook_dataset.py):
each with its chart and the figures test_playbook.py works out, the demo banner, and the
commands."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from analytics import Analyses
from analytics.catalog import ANALYSES
from analytics.report import DemoPopulation, write_report
from orbitstream.cli import main
from tests.integration.analytics.playbook_dataset import AS_OF, WINDOW
from tests.integration.analytics.test_report import section

pytestmark = pytest.mark.integration

# Figures each section's table must show (formatted as the report formats them; money in
# dollars from the cents the rows carry).
EXPECTED = {
    # P0 members start at 3000 cents, NRR 5000 / 3000; P1 members 0.7; non-members' churned 4000.
    "revenue": ["$30.00", "166.7%", "70.0%", "$40.00", "$15.00", "0.0%"],
    # Week of Jan 5 members: 492500 / 30 = 16416.67 cents, per signup 8208.33; non-members 7333.33.
    "lifetime_value": ["2026-01-05", "$164.17", "$82.08", "$73.33", "$36.67", "$71.33"],
    "onboarding": ["onboarded", "not onboarded", "100.0%", "14.3%", "50.0%"],
    "segments": ["no level", "Orbit 1 (inner)", "power", "habitual", "trial", "50.0%"],
    "interactions": ["2026-03-02", "2026-03-09", "100.0%", "50.0%"],
    "connections": ["2026-03-09", "2026-03-16", "0.40", "1.00", "83.3%"],
    "mentor_outcome": ["suggested", "not suggested", "50.0%", "0.0%"],
}
TABLE_ROWS = {
    "revenue": 4, "lifetime_value": 3, "onboarding": 2, "segments": 20, "interactions": 4, "connections": 2,
    "mentor_outcome": 2,
}  # fmt: skip
DEMO = DemoPopulation(churn_share_members=0.12, churn_share_non_members=0.35)


@pytest.fixture(scope="module")
def page(playbook: Analyses, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    return write_report(playbook, out, AS_OF, WINDOW, "test", demo=DEMO).read_text()


def test_every_playbook_analysis_has_a_section_with_a_chart_and_its_figures(page: str) -> None:
    assert list(ANALYSES) == re.findall(r'<section id="(\w+)">', page)
    for name, figures in EXPECTED.items():
        body = section(page, name)
        assert body.count("<svg") == 1, name
        assert "No rows." not in body and "yet" not in body, name  # data, not a placeholder
        table = body[body.index("<table>") :]
        assert table.count("<tr>") == TABLE_ROWS[name] + 1, name  # + the header row
        for figure in figures:
            assert f"<td>{figure}</td>" in table, (name, figure)


def test_playbook_charts_draw_the_numbers_they_show(page: str) -> None:
    chart = {name: section(page, name).split("</svg>")[0] for name in EXPECTED}
    assert "167% of $30.00" in chart["revenue"] and "70% of $50.00" in chart["revenue"]
    assert "$82.08 (2)" in chart["lifetime_value"]
    # onboarded 3/3 at day 30 and 1/2 at day 90; not onboarded 1/7 both times
    assert all(f in chart["onboarding"] for f in ("3/3", "1/2", "1/7", "day 90"))
    assert "1/2" in chart["segments"] and "0/2" in chart["segments"]  # level 0 trial; Orbit 1 power
    assert "4 : 0" in chart["interactions"] and "2 : 2" in chart["interactions"]
    assert (
        "0.40: 2 of 5 connected" in chart["connections"] and "1.00: 5 of 6 connected" in chart["connections"]
    )
    assert "retained at day 30" in chart["mentor_outcome"] and "0/2" in chart["mentor_outcome"]


def test_headlines_carry_the_last_periods_revenue_retention_and_onboarding(page: str) -> None:
    cards = page[page.index('<div class="cards">') : page.index("<section")]
    # P1: members 3500 / 5000; non-members 2500 / 1500. Day 30: onboarded 3/3, others 1/7.
    assert "members 70%" in cards and "non-members 167%" in cards
    assert "onboarded in week one 100% (3/3)" in cards and "not 14% (1/7)" in cards


def test_the_demo_banner_says_how_the_population_was_built(
    page: str, analyses: Analyses, tmp_path: Path
) -> None:
    banner = re.search(r'<p class="demo" id="demo">(.*?)</p>', page, re.S)
    assert banner, "no demo banner"
    text = banner.group(1)
    assert "12% of members" in text and "churn_share_members 0.12" in text
    assert "35% of non-members" in text and "churn_share_non_members 0.35" in text
    # A report of real data has no banner.
    plain = write_report(analyses, tmp_path / "plain.html", AS_OF, WINDOW).read_text()
    assert 'class="demo"' not in plain


@pytest.fixture
def cli_env(warehouse: Any, playbook_db: str) -> dict[str, str]:
    return {
        "ORBITSTREAM_WAREHOUSE__HOST": warehouse.host,
        "ORBITSTREAM_WAREHOUSE__PORT": str(warehouse.port),
        "ORBITSTREAM_WAREHOUSE__DATABASE": playbook_db,
    }


def test_analyses_run_revenue(cli_env: dict[str, str]) -> None:
    args = "analyses run revenue --start 2026-03-02 --end 2026-03-16 --format csv".split()
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (
        "period_start,segment,customers,mrr_start_cents,new_mrr_cents,expansion_mrr_cents,"
        "contraction_mrr_cents,churned_mrr_cents,mrr_end_cents,net_revenue_retention"
    )
    assert lines[3] == "2026-03-09 00:00:00+00:00,member,2,5000,0,0,1500,0,3500,0.7"


def test_the_report_command_with_demo_writes_the_banner(cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = [
        "report",
        "--out",
        str(out),
        "--demo",
        *"--as-of 2026-06-01 --start 2026-03-02 --end 2026-03-16".split(),
    ]
    result = CliRunner().invoke(main, args, env=cli_env)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "churn_share_members 0.12" in text and "churn_share_non_members 0.35" in text
    assert text.count("<svg") == len(ANALYSES)
