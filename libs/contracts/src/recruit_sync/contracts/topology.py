"""Names of the exchanges, queues and routing keys every service agrees on.

One topic exchange carries every event; its routing key is the event's ``type``. Each consumer owns a
durable quorum work queue bound to the keys it needs, with a delivery limit and a dead-letter queue
(``<queue>.dlq``). A stream bound with ``#`` keeps a non-destructive journal of everything published.
Request/reply calls from the HTTP API go straight to each service's RPC queue (and, for a preview, from
the fetcher to the importer's).
"""

from __future__ import annotations

from typing import Final

EVENTS_EXCHANGE: Final = "recruit_sync.events"
DEAD_LETTER_EXCHANGE: Final = "recruit_sync.dlx"
JOURNAL_STREAM: Final = "recruit_sync.journal"
JOURNAL_MAX_AGE: Final = "7D"
JOURNAL_MAX_BYTES: Final = 2 * 1024**3
DELIVERY_LIMIT: Final = 5

# routing keys (= event types)
SYNC_DUE: Final = "sync.due"
RECORD_BATCH: Final = "record.batch"
FETCH_COMPLETED: Final = "fetch.completed"
FETCH_FAILED: Final = "fetch.failed"
BATCH_IMPORTED: Final = "batch.imported"
MESSAGE_REJECTED: Final = "message.rejected"
RUN_COMPLETED: Final = "run.completed"


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


# work queues: queue name -> routing keys bound to it
FETCHER_SYNC_DUE: Final = "recruit_sync.fetcher.sync_due"
IMPORTER_RECORD_BATCH: Final = "recruit_sync.importer.record_batch"
HISTORY_EVENTS: Final = "recruit_sync.history.events"
SCHEDULER_RUN_COMPLETED: Final = "recruit_sync.scheduler.run_completed"

WORK_QUEUES: Final[dict[str, tuple[str, ...]]] = {
    FETCHER_SYNC_DUE: (SYNC_DUE,),
    IMPORTER_RECORD_BATCH: (RECORD_BATCH,),
    HISTORY_EVENTS: (SYNC_DUE, FETCH_COMPLETED, FETCH_FAILED, BATCH_IMPORTED, MESSAGE_REJECTED),
    SCHEDULER_RUN_COMPLETED: (RUN_COMPLETED,),
}

# request/reply queues (default exchange, routing key = queue name)
SCHEDULER_RPC: Final = "recruit_sync.scheduler.rpc"
IMPORTER_RPC: Final = "recruit_sync.importer.rpc"
HISTORY_RPC: Final = "recruit_sync.history.rpc"
FETCHER_RPC: Final = "recruit_sync.fetcher.rpc"
RPC_QUEUES: Final = (SCHEDULER_RPC, IMPORTER_RPC, HISTORY_RPC, FETCHER_RPC)

# each fetcher process's own, exclusive queue of BatchImported events (flow control per run), this
# prefix and a random suffix
FETCHER_IMPORTS_PREFIX: Final = "recruit_sync.fetcher.imports."
