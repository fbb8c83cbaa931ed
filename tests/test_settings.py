from __future__ import annotations

from pathlib import Path

import pytest

from nasiko.settings import Settings


def test_env_toml_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "nasiko.toml"
    toml.write_text("log_json = true\n[gateway]\nport = 9999\nrate_limit_burst = 7\n")
    monkeypatch.setenv("NASIKO_CONFIG_FILE", str(toml))
    monkeypatch.setenv("NASIKO_GATEWAY__PORT", "9200")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/nasiko")
    monkeypatch.setenv("NASIKO_GITHUB_CLIENT_ID", "abc")
    monkeypatch.setenv("NASIKO_OTLP_FORWARD_ENDPOINT", "http://collector:4318")
    s = Settings()
    assert s.gateway.port == 9200  # environment beats the file
    assert s.gateway.rate_limit_burst == 7 and s.log_json is True
    assert s.sql_url == "postgresql+asyncpg://u@db:5432/nasiko"
    assert s.github.client_id == "abc"
    assert s.observability.forward_endpoint == "http://collector:4318"
    assert s.api.port == 8000 and s.router.port == 8005
    assert s.observability.otlp_port == 4318


def test_sqlite_default_in_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.is_sqlite and s.sql_url.endswith(f"{tmp_path}/nasiko.db")
