"""structlog set-up: JSON lines when not on a TTY, console otherwise; secrets are masked on every line.

``RECRUIT_SYNC_LOG_FORMAT`` (``json`` or ``console``) overrides the choice. A line logged while a
delivery is handled carries its ``run_id`` and ``sync_id`` (bound by ``runtime.broker``'s decoders) and,
with tracing on, its ``trace_id`` and ``span_id``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from recruit_sync.runtime.tracing import add_trace_ids

SECRET_KEYS = ("secret", "token", "password", "refresh", "authorization", "api_key", "client_secret")
_MASK = "***"


def _mask_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if any(word in key.lower() for word in SECRET_KEYS):
            event_dict[key] = _MASK
    return event_dict


LOG_FORMATS = ("json", "console")


def log_format(isatty: bool) -> str:
    """``RECRUIT_SYNC_LOG_FORMAT`` if set, else console on a terminal and JSON lines otherwise."""
    chosen = os.environ.get("RECRUIT_SYNC_LOG_FORMAT", "").strip().lower()
    if chosen and chosen not in LOG_FORMATS:
        raise ValueError(f"RECRUIT_SYNC_LOG_FORMAT must be one of {LOG_FORMATS}, not {chosen!r}")
    return chosen or ("console" if isatty else "json")


def configure_logging(service: str, level: str = "INFO") -> structlog.stdlib.BoundLogger:
    """Log to stderr; bind ``service``. Call once at process start."""
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if log_format(sys.stderr.isatty()) == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_ids,
            _mask_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    structlog.contextvars.bind_contextvars(service=service)
    logger: structlog.stdlib.BoundLogger = structlog.get_logger()
    return logger
