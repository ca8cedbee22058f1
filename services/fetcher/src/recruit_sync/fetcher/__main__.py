from pathlib import Path

from recruit_sync.fetcher.app import build_app
from recruit_sync.runtime.service import main

# The fetcher keeps no data; its migrations directory is empty, so `migrate` only declares the topology.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

if __name__ == "__main__":
    main("fetcher", build_app, MIGRATIONS_DIR)
