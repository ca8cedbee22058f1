from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

DATA = Path(__file__).parent / "data"
# the contacts data/small.json puts on a list: the ones a run of it must leave there
SMALL_MEMBERS = {
    "ada.lovelace@analytical.example",
    "grace.hopper@navy.example",
    "alan.turing@bletchley.example",
    "katherine.johnson@nasa.example",
    "linus@kernel.example",
    "margaret.hamilton@apollo.example",
    "barbara.liskov@mit.example",
    "edsger.dijkstra@tue.example",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One running stack (simulator with data/small.json) shared by a test module."""
    with Stack(tmp_path_factory.mktemp("stack"), sim_data=str(DATA / "small.json")) as running:
        yield running
