"""Configuration from the environment and .env, and tokens that never reach a log line."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ops.logging_setup import RedactSecrets, configure_logging, secrets_of
from bot.settings import Settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_env_prefix_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FIGMENT_ROUND_SECONDS=45\nFIGMENT_DISCORD_TOKEN=from-dotenv-file\n")
    monkeypatch.setenv("FIGMENT_DATA_DIR", str(tmp_path / "d"))
    settings = Settings()
    assert settings.round_seconds == 45 and settings.data_dir == tmp_path / "d"
    assert settings.db_url.startswith("sqlite+aiosqlite:///") and settings.db_url.endswith("d/figment.db")
    assert settings.discord_token is not None and settings.discord_token.get_secret_value() == "from-dotenv-file"
    assert "from-dotenv-file" not in repr(settings) and "from-dotenv-file" not in str(settings.model_dump())


def test_bad_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIGMENT_ROUND_SECONDS", "banana")
    with pytest.raises(ValueError, match="round_seconds"):
        Settings(_env_file=None)


def test_token_in_environment_appears_in_no_log_line(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIGMENT_TELEGRAM_TOKEN", TOKEN)
    settings = Settings(_env_file=None)
    configure_logging(secrets_of(settings), level=logging.DEBUG)
    try:
        log = logging.getLogger("telegram.request")
        log.warning("POST https://api.telegram.org/bot%s/getMe failed", TOKEN)
        log.warning(f"settings are {settings!r}, url /bot{TOKEN}/sendPhoto")
        try:
            raise RuntimeError(f"connection to /bot{TOKEN}/getUpdates reset")
        except RuntimeError:
            log.exception("polling failed")
        logging.getLogger("httpx").info("HTTP Request: POST https://x/bot%s/getMe", TOKEN)
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "getMe failed" in err and "polling failed" in err and "getUpdates reset" in err
    assert TOKEN not in err and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in err


def test_cli_never_prints_the_token(tmp_path: Path) -> None:
    env = {"FIGMENT_TELEGRAM_TOKEN": TOKEN, "FIGMENT_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "db", "upgrade"],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_redaction_leaves_other_lines_alone() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert RedactSecrets([TOKEN]).filter(record) and record.getMessage() == "hello world"



@pytest.mark.parametrize("url", ["postgresql+asyncpg://figment:Sup3rSecretPw@db.example:5432/figment",
                                 "postgresql+asyncpg://figment:Sup3rSecretPw@[unparsable"])
def test_cli_errors_never_print_the_database_password(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], url: str) -> None:
    import typer

    from bot.cli.common import fail
    from bot.settings import get_settings

    monkeypatch.setenv("FIGMENT_DATABASE_URL", url)
    monkeypatch.setenv("FIGMENT_TELEGRAM_TOKEN", TOKEN)
    get_settings.cache_clear()
    try:
        with pytest.raises(typer.Exit):
            fail(f"could not open the database at {url} [for /bot{TOKEN}/getMe]")
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "could not open the database" in err and "[secret]" in err
    assert "Sup3rSecretPw" not in err and TOKEN not in err
