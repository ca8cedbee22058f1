"""`python -m recruit_sync.sim` as a real process on a real socket."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import GRANT


def test_module_serves_and_announces_its_address() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "recruit_sync.sim", "--port", "0", "--generate", "250"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.fullmatch(r"simulator listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        with httpx.Client(base_url=match.group(1), timeout=10) as http:
            token = http.post("/oauth/v2/token", data=GRANT).json()["access_token"]
            headers = {"Authorization": f"Zoho-oauthtoken {token}"}
            body = http.get("/recruit/v2/Candidates", params={"per_page": 5}, headers=headers).json()
            assert body["data"][0]["id"] == "9000000000001" and body["info"]["more_records"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize("content", [None, b"{not json"])
def test_an_unusable_data_file_exits_non_zero_naming_it(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "data.json"
    if content is not None:
        path.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "recruit_sync.sim", "--data", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert str(path) in result.stderr and result.stderr.count("\n") == 1
