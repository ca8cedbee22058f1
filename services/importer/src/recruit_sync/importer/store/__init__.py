"""The importer's SQL (schema ``importer``), one module per concern; set-based: a batch costs a fixed
number of statements whatever its size (docs/adr/0013).

* ``lists``: the per-list lock a batch runs under (the list's row), the lists, and their members (RPC);
* ``batches``: batches already imported, and the BatchImported each produced;
* ``facts``: what ``decide`` needs about a batch, read in one query (ahead of the lock, or under it);
* ``writes``: applying a ``Decision`` and recording the batch; ``priors``: a claim's prior as stored;
* ``suppressions``: the suppression registry (RPC).

A batch runs in one transaction (``handlers.import_batch``) that finds (or creates) its target list,
then locks its row (``lists.take_turn``, docs/adr/0030): batches of one list, from any number of
importer processes, are applied one at a time, so two of them never both decide ``new`` for one email
and never interleave their membership changes.
Contacts the batch touches are then row-locked in key order, and new contacts and links are written in
key order too, so batches of *different* lists sharing contacts queue behind each other. (Three or more
lists racing to create the same new contacts can still form a cycle; PostgreSQL breaks it and the batch
is retried, ``DeadlockDetectedError`` being a transient error for ``runtime.broker.DeadLetters``.)

The lock is what bounds one run's throughput (docs/adr/0023): a batch reads its facts and decides ahead,
while the batch before it holds the lock, and under the lock checks that they still hold (docs/adr/0025);
then it makes as few round trips as it can (take the list's turn, which also finds whether the batch
was imported before; write the contacts; write memberships, links, claims and the batch's record in one
statement), the rare writes (deletions, restores) aside.

Bulk parameters travel as one JSON document per statement (a list of keys, or a list of row arrays)
read with ``jsonb_array_elements``: asyncpg's array encoder costs about 0.4 µs per element in Python,
which made it the largest client-side cost of a batch; orjson costs a twentieth of that.
"""

from __future__ import annotations

import asyncpg

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
