"""Which dead letters a replay selects: criteria combine, replayed ones are skipped, none is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from foundation.settings import load_settings
from orbitstream.commands.sink import sink
from sinks.exceptions import ReplayError
from sinks.replay import ReplaySelection


def test_criteria_combine_with_bound_parameters() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    where, params = ReplaySelection(
        ids=("t:0:1", "t:0:2"), error_class="DeserializationError", since=since
    ).where()
    assert where == (
        "dead_letter_id IN {ids:Array(String)} AND error_class = {error_class:String} "
        "AND failed_at >= {since:DateTime64(3, 'UTC')} AND replayed_at IS NULL"
    )
    assert params == {"ids": ["t:0:1", "t:0:2"], "error_class": "DeserializationError", "since": since}


def test_include_replayed_and_everything() -> None:
    assert ReplaySelection(source_topic="t", include_replayed=True).where() == (
        "source_topic = {source_topic:String}",
        {"source_topic": "t"},
    )
    assert ReplaySelection(everything=True).where() == ("replayed_at IS NULL", {})
    assert ReplaySelection(everything=True, include_replayed=True).where() == ("1", {})


def test_no_criterion_is_refused() -> None:
    with pytest.raises(ReplayError, match="choose dead letters to replay"):
        ReplaySelection().where()


def test_the_cli_names_a_bad_time() -> None:
    result = CliRunner().invoke(sink, ["replay-dead-letters", "--until", "tomorrow"], obj=load_settings())
    assert result.exit_code == 2
    assert "Invalid value for '--until': 'tomorrow' is not an ISO time" in result.output
