"""``python -m recruit_sync.api``: serve the HTTP API where RECRUIT_SYNC_API points."""

from __future__ import annotations

from urllib.parse import urlsplit

import uvicorn

from recruit_sync.api.app import create_app
from recruit_sync.runtime.logging import configure_logging
from recruit_sync.runtime.settings import Settings


def main() -> None:
    settings = Settings.from_env()
    configure_logging("api")
    url = urlsplit(settings.api_url)
    uvicorn.run(
        create_app(settings),
        host=url.hostname or "127.0.0.1",
        port=url.port or (443 if url.scheme == "https" else 80),
        log_level="warning",
        loop="uvloop",  # docs/adr/0029
        http="httptools",
    )


if __name__ == "__main__":
    main()
