"""Settings from the environment: defaults, and a bad value named."""

from __future__ import annotations

import pytest

from recruit_sync.runtime.settings import Settings


def test_batch_imported_goes_out_as_version_3_unless_told_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RECRUIT_SYNC_BATCH_IMPORTED_VERSION", raising=False)
    assert Settings.from_env().batch_imported_version == 3
    monkeypatch.setenv("RECRUIT_SYNC_BATCH_IMPORTED_VERSION", "2")
    assert Settings.from_env().batch_imported_version == 2
    monkeypatch.setenv("RECRUIT_SYNC_BATCH_IMPORTED_VERSION", "1")
    with pytest.raises(ValueError, match="RECRUIT_SYNC_BATCH_IMPORTED_VERSION must be 2 or 3, not '1'"):
        Settings.from_env()
