from __future__ import annotations

import json
from pathlib import Path

import pytest
import structlog
from cryptography.fernet import Fernet

from recruit_sync.runtime import crypto
from recruit_sync.runtime.logging import configure_logging


@pytest.fixture(autouse=True)
def fresh_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("RECRUIT_SYNC_SECRET_KEY", raising=False)
    monkeypatch.setenv("RECRUIT_SYNC_KEY_FILE", str(tmp_path / "k" / "secret.key"))
    crypto._key.cache_clear()
    crypto._fernet.cache_clear()
    yield tmp_path / "k" / "secret.key"
    crypto._key.cache_clear()
    crypto._fernet.cache_clear()


def test_secrets_round_trip_and_the_key_file_is_private(fresh_key: Path) -> None:
    token = crypto.encrypt("rt-very-secret")
    assert "rt-very-secret" not in token
    assert crypto.decrypt(token) == "rt-very-secret"
    assert fresh_key.stat().st_mode & 0o777 == 0o600


def test_a_foreign_key_cannot_decrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    token = crypto.encrypt("s3cret")
    monkeypatch.setenv("RECRUIT_SYNC_SECRET_KEY", Fernet.generate_key().decode())
    crypto._key.cache_clear()
    crypto._fernet.cache_clear()
    with pytest.raises(ValueError, match="cannot decrypt"):
        crypto.decrypt(token)


def test_log_lines_mask_secret_looking_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test")
    structlog.configure(cache_logger_on_first_use=False)
    structlog.get_logger().info("token refreshed", refresh_token="rt-1", client_secret="cs-1", run_id="r1")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["refresh_token"] == "***" and line["client_secret"] == "***"
    assert line["run_id"] == "r1" and line["service"] == "test"
    structlog.reset_defaults()  # the configured logger writes to capsys's stream, closed after this test
    structlog.contextvars.clear_contextvars()
