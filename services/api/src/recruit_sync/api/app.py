"""The HTTP API: a FastAPI app holding one RPC client, used only to ask the services over RabbitMQ.

It never touches the database. OpenAPI docs at ``/docs``; the events' AsyncAPI document at
``/asyncapi.json`` (rendered at ``/asyncapi``); the web console at ``/`` (``console.pages``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from recruit_sync.api.asyncapi import events_document
from recruit_sync.api.auth import SignInNeeded, install
from recruit_sync.api.console import errors as console_errors
from recruit_sync.api.console import pages as console_pages
from recruit_sync.api.errors import invalid_operation_request
from recruit_sync.api.gateway import Services
from recruit_sync.api.routes import router
from recruit_sync.runtime.broker import declare_topology
from recruit_sync.runtime.ops import OpsServer, ops_port_from_env
from recruit_sync.runtime.rpc import RpcClient
from recruit_sync.runtime.settings import Settings

DEFAULT_RPC_TIMEOUT = 15.0


def rpc_timeout_from_env() -> float:
    return float(os.environ.get("RECRUIT_SYNC_RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT))


def create_app(settings: Settings, rpc_timeout: float | None = None) -> FastAPI:
    """The API for ``settings.amqp_url``; ``rpc_timeout`` (seconds) bounds every call to a service."""
    client = RpcClient(settings.amqp_url)
    services = Services(client, rpc_timeout if rpc_timeout is not None else rpc_timeout_from_env())

    async def ready() -> str | None:  # as /health: the API has no database of its own
        return client.unavailable

    # the ops port (runtime.ops): /metrics and health, when RECRUIT_SYNC_OPS_PORT is set
    ops_port = ops_port_from_env()
    ops = OpsServer(ops_port, ready) if ops_port is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if ops is not None:
            await ops.start()
        try:
            # Declaring the topology here means an RPC publish finds its queue even before the first
            # `migrate`; requests then wait in the queue until the service starts (or time out).
            await declare_topology(settings.amqp_url, settings.journal_retention)
            await client.connect()
            try:
                yield
            finally:
                await client.close()
        finally:
            if ops is not None:
                await ops.stop()

    app = FastAPI(
        title="recruit-sync",
        summary="Keep mailing lists in step with Zoho Recruit",
        version="0.1.0",
        lifespan=lifespan,
        # served by routes.py behind the access checks: the documents describe every route
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install(app, services, https=settings.api_url.startswith("https://"))
    app.state.services = services
    app.state.events_document = events_document(settings.amqp_url, app.version)
    app.include_router(router)
    app.include_router(console_pages.router)
    app.mount("/static", StaticFiles(directory=console_pages.STATIC), name="static")
    # the console's pages answer errors as pages; every other route's are passed on as JSON
    app.add_exception_handler(RequestValidationError, console_errors.invalid_request_error)
    app.add_exception_handler(StarletteHTTPException, console_errors.http_error)
    app.add_exception_handler(SignInNeeded, console_errors.sign_in_first)
    app.add_exception_handler(ValidationError, invalid_operation_request)
    return app
