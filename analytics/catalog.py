"""The packaged analyses: one ``sql/<name>.sql`` each, its row type and what it answers.

The SQL files are the definitions (analysts can run them as they are, with ClickHouse
query parameters); what several share is in the parameterised views of migration
0003_analysis_views.sql. This catalog only names them and reads which parameters each takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from analytics import rows
from analytics.exceptions import AnalysisError

SQL_DIR = Path(__file__).parent / "sql"
# ClickHouse query parameters: {name:Type}
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]+\}")


@dataclass(frozen=True)
class Analysis:
    name: str
    title: str
    question: str
    row_type: type

    @property
    def path(self) -> Path:
        return SQL_DIR / f"{self.name}.sql"

    @cached_property
    def sql(self) -> str:
        return self.path.read_text()

    @cached_property
    def parameters(self) -> frozenset[str]:
        return frozenset(_PARAMETER.findall(self.sql))

    @property
    def takes_window(self) -> bool:
        return "start" in self.parameters


ANALYSES: dict[str, Analysis] = {
    a.name: a
    for a in (
        Analysis(
            "retention",
            "Retention by signup cohort",
            "Do members who signed up in a week still use the product a month later, more than non-members?",
            rows.RetentionRow,
        ),
        Analysis(
            "churn",
            "Churn: members vs non-members",
            "Of the users active in one period, how many were gone the next?",
            rows.ChurnRow,
        ),
        Analysis(
            "support_deflection",
            "Support deflection",
            "How many questions did the community resolve, against tickets opened with support?",
            rows.DeflectionRow,
        ),
        Analysis(
            "time_to_first_value",
            "Time to first value",
            "How long from signup to the first successful API call or key feature use?",
            rows.FirstValueRow,
        ),
        Analysis(
            "network_density",
            "Network density by Orbit level",
            "How connected are members of each Orbit level with each other?",
            rows.DensityRow,
        ),
        Analysis(
            "connections",
            "Meaningful connections per member",
            "How many people does a member hold conversations with, and is that growing?",
            rows.ConnectionsRow,
        ),
        Analysis(
            "orbit_distribution",
            "Orbit levels over time",
            "How many members are in each Orbit level at the end of each period?",
            rows.OrbitLevelCount,
        ),
        Analysis(
            "gravity",
            "Gravity",
            "How fast does members' weighted commitment grow, per member (the Orbit Model's gravity)?",
            rows.GravityRow,
        ),
        Analysis(
            "orbit_movement",
            "Moving between Orbit levels",
            "Of the members at each level, how many moved up, held or moved down in a period?",
            rows.MovementRow,
        ),
        Analysis(
            "triggers",
            "Churn-risk triggers",
            "Which churn risks fired, for how many users, and how many of them came back?",
            rows.TriggerRow,
        ),
        Analysis(
            "revenue",
            "Revenue: expansion, contraction and net revenue retention",
            "Of the recurring revenue at a period's start, how much do the same customers pay at its end?",
            rows.RevenueRow,
        ),
        Analysis(
            "lifetime_value",
            "Lifetime value by signup cohort",
            "How much has each signup cohort paid so far, members vs non-members?",
            rows.LifetimeValueRow,
        ),
        Analysis(
            "onboarding",
            "First-week community onboarding",
            "Do members who finish the community onboarding in their first week stay longer?",
            rows.OnboardingRow,
        ),
        Analysis(
            "segments",
            "Segments: Orbit level x usage stage",
            "Where do users stand in the community and in the product, and which cells churn?",
            rows.SegmentCell,
        ),
        Analysis(
            "interactions",
            "Transactional vs relational",
            "Do users come to the community for help, or to work with others?",
            rows.InteractionRow,
        ),
        Analysis(
            "mentor_outcome",
            "Mentor outcome",
            "After a mentor suggestion, did the user get an answer, stop failing and stay?",
            rows.MentorOutcomeRow,
        ),
    )
}


def get(name: str) -> Analysis:
    try:
        return ANALYSES[name]
    except KeyError:
        raise AnalysisError(f"no analysis {name!r}; there are: {', '.join(ANALYSES)}") from None
