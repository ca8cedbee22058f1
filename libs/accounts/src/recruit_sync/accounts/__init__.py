"""Console users and API tokens (INTERFACE.md "Access", docs/adr/0018): how their secrets are hashed,
and the ``accounts`` schema that keeps them.

The scheduler serves them to the API over RPC; the operator commands (``recruit-sync user``/``token``)
use the same store directly on the database, so the first admin can be made before any token exists.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA = "accounts"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
