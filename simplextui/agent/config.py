"""Tunables of the agent; the defaults suit real use, tests shorten the delays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AgentConfig:
    retry_base: float = 0.5  # first delay (s) after a failed send; doubles per attempt
    retry_cap: float = 60.0  # longest delay between attempts
    quota_retry: float = 60.0  # slow retry while the peer's queue is full and no QCONT came
    # SENDs per round. A round is one ``client.run`` call; it keeps order only while the
    # batcher puts it in one request (4 MB; a SEND is ~16 KB padded): 128 SENDs (~2 MB) leave
    # room for other commands queued ahead of it. See docs/agent-protocol.md (ordering).
    round_limit: int = 128
    per_connection_limit: int = 100  # SENDs of one connection per round
    dedup_window: int = 256  # digests of received queue messages kept per queue
    receipt_delay: float = 0.02  # coalesce receipts processed within this time into one RCVD
    subscribe_wait: float = 5.0  # start() waits this long for subscriptions, then goes on
    # A join whose SKEY failed is kept this long for a retry (same key, same queue); then,
    # at a start, it is abandoned and the queue made for it deleted.
    join_keep: float = 7 * 86400.0
    cleanup_wait: float = 3.0  # deletions wait this long for their servers, then go on
    cleanup_keep: float = 30 * 86400.0  # a server clean-up still failing after this: dropped
    stop_timeout: float = 5.0  # stop() waits this long for handlers and events in flight
    db_on_loop: bool = True  # run database units on the loop when that cannot block (dbthread)
    client_options: dict[str, Any] = field(default_factory=dict)  # for QueueClient
