"""The private RabbitMQ node, for the tests that restart a broker (``tests/faults/rabbitmq.py``).

The repository's ``tests`` package is importable under pytest only once one of its modules has been
collected; a run of this directory alone would not find it, so its root is put on the path (last: it
shadows nothing installed).
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[3])
if ROOT not in sys.path:
    sys.path.append(ROOT)

from tests.faults.rabbitmq import private_rabbitmq  # noqa: E402

__all__ = ["private_rabbitmq"]
