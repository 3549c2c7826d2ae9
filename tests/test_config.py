"""Configuration: HYPERPICS_* variables, the secret key rule, cookie flags."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hyperpics import create_app
from hyperpics.config import ConfigError, from_environment

from .conftest import Tab, register


def test_environment_variables_override_defaults(tmp_path: Path) -> None:
    config = from_environment(
        tmp_path,
        {
            "HYPERPICS_MAX_UPLOAD_MB": "7",
            "HYPERPICS_MAIL_USE_TLS": "yes",
            "HYPERPICS_BROADCAST_URL": "redis://127.0.0.1:6379",
            "UNRELATED": "1",
        },
    )
    assert config["MAX_UPLOAD_MB"] == 7
    assert config["MAIL_USE_TLS"] is True
    assert config["BROADCAST_URL"] == "redis://127.0.0.1:6379"
    assert config["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'hyperpics.db'}"
    assert config["MEDIA_DIR"] == str(tmp_path / "media")


def test_bad_values_are_reported_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HYPERPICS_MAX_UPLOAD_MB"):
        from_environment(tmp_path, {"HYPERPICS_MAX_UPLOAD_MB": "lots"})
    with pytest.raises(ConfigError, match="HYPERPICS_DATABASE_URL"):
        create_app({"DATABASE_URL": "mysql://x", "SECRET_KEY": "k" * 40}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="HYPERPICS_DB_POOL_SIZE"):
        create_app({"DB_POOL_SIZE": 0, "SECRET_KEY": "k" * 40}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="HYPERPICS_PASSWORD_HASHING"):
        create_app({"PASSWORD_HASHING": "none", "SECRET_KEY": "k" * 40}, instance_path=tmp_path)


def test_the_cheap_password_hashing_of_test_suites_never_runs_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="test suites only"):
        create_app({"ENV": "production", "SECRET_KEY": "k" * 40, "PASSWORD_HASHING": "fast"}, instance_path=tmp_path)


def test_production_without_secret_key_refuses_to_start(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HYPERPICS_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="HYPERPICS_SECRET_KEY is not set"):
        create_app({"ENV": "production"}, instance_path=tmp_path)
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_secret_once_and_keeps_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HYPERPICS_SECRET_KEY", raising=False)
    first = create_app({}, instance_path=tmp_path)
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and len(first.secret_key) >= 40
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = create_app({}, instance_path=tmp_path)
    assert second.secret_key == first.secret_key
    assert create_app({}, instance_path=tmp_path / "other").secret_key != first.secret_key


@pytest.mark.filterwarnings("ignore:Secure cookies will be ignored")
async def test_cookies_are_httponly_lax_and_secure_outside_development(app_config, tmp_path) -> None:
    app_config.update(ENV="production", PASSWORD_HASHING="standard")
    application = create_app(app_config, instance_path=tmp_path / "instance")
    async with application.test_app():
        tab = Tab(application)
        await tab.get("/auth/register")
        page = await register(tab, "ana")
        cookies = page.headers.getlist("Set-Cookie")
        assert cookies
        for cookie in cookies:
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie, cookie


async def test_security_headers(app, tab: Tab) -> None:
    page = await tab.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    # No inline script anywhere (CSP would block it anyway).
    assert "<script>" not in page.text and " hx-on" not in page.text


def test_no_secret_literal_in_the_code() -> None:
    package = Path(__file__).resolve().parent.parent / "hyperpics"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert 'SECRET_KEY"] = "' not in text and 'secret_key = "' not in text, path
