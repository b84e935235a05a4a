"""Encrypt agent messages into outbox rows, and the integrity check of received ones.

Each direction of a connection is a hash chain: message ``n`` carries ``n`` and the SHA-256
of message ``n - 1`` (zeros for the first). The receiver checks both, so a lost, repeated,
reordered or altered message is detected even though the ratchet accepts it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from simplextui.agent import repo
from simplextui.agent.context import AgentContext, LiveConn
from simplextui.agent.errors import ConnectionNotReady
from simplextui.agent.events import IntegrityKind, IntegrityStatus
from simplextui.protocol import agent as wire

PayloadKind = str  # MSG MSGN RCVD QCONT DEL INFO


def kind_of(payload: wire.Payload) -> PayloadKind:
    match payload:
        case wire.Msg(receipt=True):
            return "MSG"
        case wire.Msg():
            return "MSGN"  # no receipt wanted: deleted once the server took it
        case wire.Receipts():
            return "RCVD"
        case wire.QuotaContinue():
            return "QCONT"
        case wire.Deleted():
            return "DEL"
        case wire.Info():
            return "INFO"
    raise ValueError(f"cannot send {payload!r}")


def encrypt_payload(live: LiveConn, payload: wire.Payload) -> dict[str, Any]:
    """Encrypt the next message of ``live`` (advancing it in memory) as an outbox row.

    The caller must commit :func:`sent_state` and the row in one transaction, or evict
    ``live`` from the cache if that fails.
    """
    if not live.can_send:
        raise ConnectionNotReady(f"connection {live.id} cannot send yet (handshake incomplete)")
    assert live.ratchet is not None and live.snd_queue_id is not None
    msg_id = live.last_sent_id + 1
    plain, msg_hash = wire.encode_agent_message(msg_id, live.last_sent_hash, payload)
    ciphertext = live.ratchet.encrypt(plain, wire.envelope_header("M"))
    body = wire.encode_envelope(wire.RatchetEnvelope(ciphertext))
    live.last_sent_id, live.last_sent_hash = msg_id, msg_hash
    return {"conn_id": live.id, "queue_id": live.snd_queue_id, "op": "send",
            "kind": kind_of(payload), "agent_msg_id": msg_id, "body": body,
            "msg_hash": msg_hash}


def check_open(live: LiveConn) -> None:
    """Refuse new messages on a connection that is being deleted."""
    if live.closing:
        raise ConnectionNotReady(f"connection {live.id} is being deleted")


def sent_state(live: LiveConn) -> dict[str, Any]:
    assert live.ratchet is not None
    return {"ratchet": live.ratchet.to_bytes(), "last_sent_id": live.last_sent_id,
            "last_sent_hash": live.last_sent_hash}


async def send_payloads(
    ctx: AgentContext, conn_id: str, payloads: Sequence[wire.Payload],
    also: Callable[[Connection], None] | None = None,
) -> list[int]:
    """Encrypt and commit payloads for one connection; returns their agent message ids.

    ``also`` runs in the same transaction (e.g. deleting the inbox rows a receipt covers).
    """
    async with ctx.lock(conn_id):
        live = await ctx.load(conn_id)
        check_open(live)
        try:
            rows = [encrypt_payload(live, p) for p in payloads]
            state = sent_state(live)

            def unit(c: Connection) -> None:
                repo.update_connection(c, conn_id, **state)
                repo.insert_outbox(c, rows)
                if also is not None:
                    also(c)

            await ctx.write(unit)
        except BaseException:
            ctx.evict(conn_id)
            raise
        server = live.snd_server
    if server is not None and ctx.outbox is not None:
        ctx.outbox.notify(server)
    return [row["agent_msg_id"] for row in rows]


def check_integrity(last_id: int, last_hash: bytes,
                    msg: wire.AgentMessage) -> IntegrityStatus | None:
    """The status of a received message, or None for a duplicate (dropped silently)."""
    expected = last_id + 1
    if msg.agent_msg_id == expected:
        if msg.prev_msg_hash == last_hash:
            return IntegrityStatus.OK
        return IntegrityStatus(IntegrityKind.BAD_HASH)
    if msg.agent_msg_id > expected:
        return IntegrityStatus.skipped(expected, msg.agent_msg_id - 1)
    if msg.agent_msg_id == last_id and msg.msg_hash == last_hash:
        return None
    return IntegrityStatus(IntegrityKind.BAD_ID)
