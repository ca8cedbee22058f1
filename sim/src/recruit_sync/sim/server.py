"""Run the simulator under uvicorn (what `recruit-sync sim` and `python -m recruit_sync.sim` call)."""

from __future__ import annotations

import socket
import sys

import uvicorn
import uvloop

from recruit_sync.sim.app import create_app
from recruit_sync.sim.data import SimData


class _AnnouncingServer(uvicorn.Server):
    """Prints `simulator listening on http://HOST:PORT` on stderr once the socket is bound
    (with the real port, so `port=0` works)."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers and self.servers[0].sockets:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"simulator listening on http://{host}:{port}", file=sys.stderr, flush=True)


def serve(data_file: str | None, port: int = 8700, generate: int = 0, host: str = "127.0.0.1") -> None:
    """Serve the simulator seeded from `data_file` (None: empty) plus `generate` synthetic
    candidates; blocks until interrupted. Raises `DataFileError` for an unusable data file."""
    app = create_app(SimData.load(data_file, generate=generate))
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="httptools",
    )
    # uvloop and httptools, not asyncio and h11: the simulator stands in for Recruit, whose CPU is not
    # ours, so it spends as little of the machine as it can (docs/adr/0029)
    uvloop.run(_AnnouncingServer(config).serve())
