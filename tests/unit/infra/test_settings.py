"""Settings: one typed place, misspelt variables fail by name, child env round-trips."""

import pytest

from infra.settings import Settings, UnknownSettingError, load_settings, to_environment


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092")
    monkeypatch.setenv("ORBITSTREAM_TOPICS__PARTITIONS", "8")
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "10.0.0.1:9092"
    assert settings.topics.partitions == 8


def test_misspelt_setting_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFKA__BOOTSTRAP_SERVER", "x:1")
    with pytest.raises(UnknownSettingError, match="ORBITSTREAM_KAFKA__BOOTSTRAP_SERVER.*bootstrap_server"):
        load_settings()


def test_unknown_section_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITSTREAM_KAFAK__X", "1")
    with pytest.raises(UnknownSettingError, match="kafak"):
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


def test_worker_heartbeat_must_fit_three_times_in_the_session() -> None:
    from pydantic import ValidationError

    from infra.settings import WorkerSettings

    assert WorkerSettings(session_timeout_s=6, heartbeat_interval_s=2).heartbeat_interval_s == 2
    with pytest.raises(ValidationError, match="at most a third of session_timeout_s"):
        WorkerSettings(session_timeout_s=6, heartbeat_interval_s=2.5)
