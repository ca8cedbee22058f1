"""Helpers for the API's tests: a request that acts with a role, without a scheduler to ask; a private
RabbitMQ node to restart (``tests/faults/rabbitmq.py``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from recruit_sync.contracts.access import Principal, Role, token_hash

# the repository's ``tests`` package is importable under pytest only once one of its modules has been
# collected; a run of this directory alone would not find it (appended: it shadows nothing installed)
ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.append(ROOT)

from tests.faults.rabbitmq import private_rabbitmq  # noqa: E402

__all__ = ["private_rabbitmq"]

TEST_TOKEN = "rs_api-tests-token"


Admit = Callable[..., dict[str, str]]


@pytest.fixture
def admit() -> Admit:
    """``admit(app, role)``: see ``_admit``."""
    return _admit


def _admit(app: FastAPI, role: Role = Role.ADMIN, token: str = TEST_TOKEN) -> dict[str, str]:
    """Headers of a request acting with ``role``: the API's access layer is told the token's verdict in
    advance (as if the scheduler had answered it), for as long as the test runs."""
    access = app.state.access
    access.verdicts.ttl = 3600.0
    access.verdicts.put(f"token:{token_hash(token)}", Principal(kind="token", name=f"test-{role}", role=role))
    return {"Authorization": f"Bearer {token}"}
