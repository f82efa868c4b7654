"""Settings: one typed place, misspelt variables fail by name, child env round-trips."""

import os
import subprocess
import sys

import pytest

from foundation.settings import Settings, load_settings, to_environment
from foundation.settings_reference import DOC_PATH, UnknownSettingError, render_markdown, variables


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092")
    monkeypatch.setenv("ORBITSTREAM_TOPICS__PARTITIONS", "8")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "10.0.0.1:9092"
    assert settings.topics.partitions == 8


def test_misspelt_setting_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFKA__BOOTSTRAP_SERVER", "x:1")
    with pytest.raises(
        UnknownSettingError,
        match=r"^ORBITSTREAM_KAFKA__BOOTSTRAP_SERVER is not an orbitstream setting; "
        r"did you mean ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS[ ?]",
    ):
        load_settings()


def test_unknown_section_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFAK__X", "1")
    with pytest.raises(UnknownSettingError, match="^ORBITSTREAM_KAFAK__X is not an orbitstream setting"):
        load_settings()


def test_malformed_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_TOPICS__PARTITIONS", "many")
    with pytest.raises(ValueError, match="partitions"):
        load_settings()


def test_child_environment_rebuilds_the_same_settings_with_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(
        kafka={"bootstrap_servers": "h:1", "sasl_password": "s3cret"}, topics={"prefix": "t-"}
    )
    for key, value in to_environment(original).items():
        monkeypatch.setenv(key, value)
    rebuilt = load_settings()
    assert rebuilt == original
    assert rebuilt.kafka.sasl_password is not None
    assert rebuilt.kafka.sasl_password.get_secret_value() == "s3cret"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.topics.partitions = 2  # type: ignore[misc]


def test_a_misspelt_nested_setting_is_refused_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_STREAMS__SCORING__HALF_LIFE_HOURZ", "10")
    with pytest.raises(
        UnknownSettingError, match="did you mean ORBITSTREAM_STREAMS__SCORING__HALF_LIFE_HOURS"
    ):
        load_settings()


def test_every_setting_has_a_description() -> None:
    missing = [v.name for v in variables(Settings) if not v.description]
    assert missing == []


def test_configuration_reference_is_current() -> None:
    assert DOC_PATH.read_text() == render_markdown(Settings), "run `orbitstream config docs`"


def test_reference_lists_nested_settings_with_type_and_default() -> None:
    by_name = {v.name: v for v in variables(Settings)}
    port = by_name["ORBITSTREAM_WORKER__WEB_PORT"]
    assert (port.type, port.default) == ("int (optional) ≥ 0 ≤ 65535", "unset")  # unset: picked per worker
    assert by_name["ORBITSTREAM_WAREHOUSE__DATABASE"].default == "`orbitstream`"
    half_life = by_name["ORBITSTREAM_STREAMS__SCORING__HALF_LIFE_HOURS"]
    assert (half_life.type, half_life.default) == ("float > 0", "`168`")
    assert by_name["ORBITSTREAM_STREAMS"].section


def _cli(env_update: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORBITSTREAM_")}
    return subprocess.run(
        [sys.executable, *args],
        env={**env, **env_update},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("-m", "orbitstream", "--help"),
        ("-m", "orbitstream", "demo", "--help"),
        ("-m", "orbitstream", "topics", "create"),
        ("-m", "orbitstream", "worker", "--help"),
    ],
    ids=["help", "demo-help", "command", "worker"],
)
def test_a_misspelt_variable_is_one_line_naming_the_nearest_settings(args: tuple[str, ...]) -> None:
    proc = _cli({"ORBITSTREAM_WORKER__WEB_PROT": "7000"}, *args)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "ORBITSTREAM_WORKER__WEB_PROT is not an orbitstream setting" in lines[0]
    assert "did you mean ORBITSTREAM_WORKER__WEB_PORT" in lines[0]


def test_a_malformed_value_is_one_line_naming_the_variable() -> None:
    proc = _cli({"ORBITSTREAM_TOPICS__PARTITIONS": "many"}, "-m", "orbitstream", "topics", "create")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: ORBITSTREAM_TOPICS__PARTITIONS: Input should be a valid integer, "
        "unable to parse string as an integer"
    ]


def test_config_docs_check_reports_a_stale_file(tmp_path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text("# Configuration\n")
    proc = _cli({}, "-m", "orbitstream", "config", "docs", "--check", "--out", str(stale))
    assert proc.returncode == 1
    assert "out of date" in proc.stdout
    assert _cli({}, "-m", "orbitstream", "config", "docs", "--out", str(stale)).returncode == 0
    assert stale.read_text() == render_markdown(Settings)


def test_worker_heartbeat_must_fit_three_times_in_the_session() -> None:
    from pydantic import ValidationError

    from foundation.settings import WorkerSettings

    assert WorkerSettings(session_timeout_s=6, heartbeat_interval_s=2).heartbeat_interval_s == 2
    with pytest.raises(ValidationError, match="at most a third of session_timeout_s"):
        WorkerSettings(session_timeout_s=6, heartbeat_interval_s=2.5)


def test_every_kafka_client_stops_backing_off_at_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from producers.sdk import producer_config

    # librdkafka's own bound is 10 s: a service started while the broker was down waited
    # up to that long after it came back before sending what it had buffered.
    assert Settings().kafka.confluent_config()["reconnect.backoff.max.ms"] == 1000
    monkeypatch.setenv("ORBITSTREAM_KAFKA__RECONNECT_BACKOFF_MAX_MS", "250")
    assert producer_config(load_settings(), "svc")["reconnect.backoff.max.ms"] == 250
