"""The console's pages, one router: sign-in, syncs, runs, addresses, connections and access.

``app.create_app`` includes ``router``, serves ``STATIC`` at ``/static`` and installs the handlers of
``console.errors``.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from recruit_sync.api.console import access, connections, registry, runs, sign_in, syncs
from recruit_sync.api.console.render import STATIC

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
for part in (sign_in, syncs, runs, registry, connections, access):
    router.include_router(part.router)

__all__ = ["STATIC", "router"]
