"""Helpers for the API's tests: a request that acts with a role, without a scheduler to ask; a private
RabbitMQ node to restart (``tests/faults/rabbitmq.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from recruit_sync.contracts.access import Principal, Role, token_hash
from tests.faults.rabbitmq import private_rabbitmq

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
