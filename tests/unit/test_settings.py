import pytest

from chalicelib.settings import SettingsError, get_settings, stage_environment


def test_names_follow_the_prefix(monkeypatch):
    monkeypatch.setenv("COLONY_PREFIX", "acme-colony")
    settings = get_settings()
    assert settings.table("users") == "acme-colony-users"
    assert settings.queue("imports") == "acme-colony-imports"
    assert settings.dead_letter_queue("imports") == "acme-colony-imports-dlq"
    assert settings.bucket == "acme-colony-files"


def test_prefix_defaults_to_the_stage(monkeypatch):
    monkeypatch.delenv("COLONY_PREFIX", raising=False)
    monkeypatch.setenv("COLONY_STAGE", "prod")
    assert get_settings().prefix == "colony-prod"
    assert get_settings().aws_endpoint_url is None
    assert get_settings().credentials is None


def test_local_stage_points_at_the_embedded_aws(monkeypatch):
    monkeypatch.setenv("COLONY_STAGE", "local")
    monkeypatch.setenv("MOTO_PORT", "5123")
    monkeypatch.delenv("COLONY_AWS_ENDPOINT_URL", raising=False)
    assert get_settings().aws_endpoint_url == "http://127.0.0.1:5123"
    assert get_settings().credentials is not None


def test_unknown_stage_is_refused(monkeypatch):
    monkeypatch.setenv("COLONY_STAGE", "staging")
    with pytest.raises(SettingsError):
        get_settings()


def test_unknown_name_is_a_programmer_error():
    with pytest.raises(AssertionError):
        get_settings().table("contacts-typo")


def test_every_stage_in_config_sets_its_own_name():
    for stage in ("local", "test", "dev", "prod"):
        assert stage_environment(stage)["COLONY_STAGE"] == stage
