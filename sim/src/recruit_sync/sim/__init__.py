"""Zoho Recruit API v2 simulator: `create_app(SimData.load(path, generate=N))` is the ASGI app,
`recruit_sync.sim.server.serve(...)` runs it under uvicorn, `demo_data_path()` names the bundled
demo data file (sim/README.md lists what it holds)."""

from __future__ import annotations

from pathlib import Path

from recruit_sync.sim.app import create_app
from recruit_sync.sim.data import DataFileError, SimData


def demo_data_path() -> Path:
    """The bundled demo data file, `demo_data.json` beside this module."""
    return Path(__file__).with_name("demo_data.json")


__all__ = ["DataFileError", "SimData", "create_app", "demo_data_path"]
