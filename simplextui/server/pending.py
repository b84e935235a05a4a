"""In-memory copies of the messages waiting in subscribed queues.

After an ACK the server delivers the queue's next message. Looking it up in the database
(the oldest unexpired message of the queue) cost about a tenth of the server's CPU per
message; with this cache the next message is usually found in memory.

The database stays the truth. A queue's list (``QueueState.pending``) is either ``None``
(unknown: look in the database, which rebuilds the list) or *complete*: every message the
database holds for the queue, oldest first. It is kept complete by applying each batch's
inserts and deletes, and dropped whenever that cannot be guaranteed (the queue state is
forgotten, a sweep expired messages, a write failed: the whole cache is forgotten with the
queue states). Bodies are kept only while the total stays under a byte budget; a message
without its body (over budget, or listed by a rebuild, which reads no bodies) is still
listed, and its body is read by primary key with the batch that delivers it.
"""

from __future__ import annotations

from collections import deque

from simplextui.server.store import QueueState, StoredMessage


class PendingCache:
    def __init__(self, body_budget: int) -> None:
        self.body_budget = body_budget  # total bytes of cached bodies
        self.body_bytes = 0

    def install(self, state: QueueState, messages: list[StoredMessage]) -> None:
        """Make ``messages`` (all of the queue's, oldest first, as just read) its list."""
        self.drop(state)
        pending: deque[StoredMessage] = deque()
        for msg in messages:
            pending.append(self._trimmed(msg))
        state.pending = pending

    def add(self, state: QueueState, msg: StoredMessage) -> None:
        """A message was stored in the queue (call only when ``state.pending`` is not None)."""
        assert state.pending is not None
        state.pending.append(self._trimmed(msg))

    def remove(self, state: QueueState, seq: int) -> None:
        """A message was deleted (acknowledged); usually it is the oldest."""
        pending = state.pending
        if pending is None:
            return
        for i, msg in enumerate(pending):
            if msg.seq == seq:
                del pending[i]
                if msg.body is not None:
                    self.body_bytes -= len(msg.body)
                return

    def drop(self, state: QueueState) -> None:
        pending, state.pending = state.pending, None
        if pending:
            self.body_bytes -= sum(len(m.body) for m in pending if m.body is not None)

    def clear(self) -> None:
        """Every list was dropped with the queue states that held them."""
        self.body_bytes = 0

    @staticmethod
    def first(state: QueueState, not_before_ms: int) -> StoredMessage | None:
        """The oldest unexpired message (the database query's answer), or None."""
        assert state.pending is not None
        for msg in state.pending:
            if msg.created_at >= not_before_ms:
                return msg
        return None

    def _trimmed(self, msg: StoredMessage) -> StoredMessage:
        body = msg.body
        if body is None:
            return msg
        if self.body_bytes + len(body) <= self.body_budget:
            self.body_bytes += len(body)
            return msg
        return msg._replace(body=None)
