"""Sample data: a user with contacts, conversations and requests written straight into a client
database, and an offline stand-in for the agent. Used by the snapshot tests, the README
screenshots and the benchmark, so that they show the same fixed, realistic state.

No Textual here, no network: ``SampleAgent`` answers the chat core from memory with fixed links.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert

from simplextui.agent.errors import AgentError
from simplextui.agent.events import AgentEvent
from simplextui.chat.core import DB_FILE
from simplextui.protocol.address import ServerAddress
from simplextui.protocol.links import Link, LinkKind
from simplextui.store.chat_models import (
    ChatItem,
    ChatReaction,
    ChatUser,
    Contact,
    ContactRequest,
    ContactStatus,
    Direction,
    ItemStatus,
)
from simplextui.store.db import Database, open_database
from simplextui.tui.clock import IdSource, counter_ids

__all__ = [
    "SAMPLE_CONTACTS",
    "SAMPLE_SERVER",
    "SampleAgent",
    "SampleContact",
    "SampleMessage",
    "bulk_messages",
    "sample_agent_factory",
    "seed_sample",
]

SAMPLE_SERVER = ServerAddress(bytes(range(32)), "127.0.0.1", 5223)
MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def _link(kind: LinkKind, seed: int) -> str:
    return Link(kind, SAMPLE_SERVER, bytes((seed + i) % 256 for i in range(24)),
                bytes((seed * 7 + i) % 256 for i in range(32))).uri


class SampleAgent:
    """The agent API from memory: fixed links and safety codes; sending only counts."""

    def __init__(self, on_event: Callable[[AgentEvent], Awaitable[None]]) -> None:
        self.on_event = on_event
        self._ids = itertools.count(1)
        self._address: str | None = None
        self._links = itertools.count(1)

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    async def create_invitation(self, my_info: bytes) -> tuple[str, str]:
        n = next(self._links)
        return f"sample-conn-{n}", _link(LinkKind.INVITATION, n)

    async def join(self, link: str, my_info: bytes) -> str:
        raise AgentError("the sample agent is offline: it cannot connect")

    async def create_address(self) -> str:
        self._address = _link(LinkKind.ADDRESS, 100)
        return self._address

    async def get_address(self) -> str | None:
        return self._address

    async def delete_address(self) -> None:
        self._address = None

    async def accept_request(self, request_id: str, my_info: bytes) -> str:
        return f"sample-accepted-{request_id}"

    async def reject_request(self, request_id: str) -> None: ...

    async def send(self, conn_id: str, body: bytes) -> int:
        return next(self._ids)

    async def message_processed(self, conn_id: str, agent_msg_id: int) -> None: ...
    async def delete_connection(self, conn_id: str) -> None: ...

    async def safety_code(self, conn_id: str) -> str:
        digits = f"{zlib.crc32(conn_id.encode()) % 10**5:05d}"
        return " ".join([digits, "31415", "92653", "58979", "32384", "62643",
                         "38327", "95028", "84197", "16939", "93751", "05820"])


def sample_agent_factory(db: Database, servers: list[ServerAddress],
                         on_event: Callable[[AgentEvent], Awaitable[None]]) -> SampleAgent:
    return SampleAgent(on_event)


@dataclass(frozen=True)
class SampleMessage:
    mine: bool
    text: str
    ago_ms: int  # before "now"
    status: str = ""  # default: read for mine, read for theirs
    quote: int | None = None  # index of the quoted message in the same chat
    reactions: tuple[tuple[str, bool], ...] = ()
    edited: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class SampleContact:
    name: str
    full_name: str = ""
    bio: str = ""
    status: str = ContactStatus.CONNECTED
    verified: bool = False
    messages: tuple[SampleMessage, ...] = field(default=())


def _m(mine: bool, text: str, ago: int, **kw: object) -> SampleMessage:
    return SampleMessage(mine, text, ago, **kw)  # type: ignore[arg-type]


SAMPLE_CONTACTS: tuple[SampleContact, ...] = (
    SampleContact("alice", "Alice Liddell", "Down the rabbit hole.", verified=True, messages=(
        _m(False, "Are we still on for the tea party tomorrow?", DAY + 5 * HOUR),
        _m(True, "Yes! I'll bring the jam tarts.", DAY + 4 * HOUR + 50 * MINUTE),
        _m(False, "Perfect. The Hatter says 6 sharp, which means any time at all.",
           DAY + 4 * HOUR + 40 * MINUTE, reactions=(("😂", True),)),
        _m(True, "Did you get the map I sent?", 3 * HOUR + 12 * MINUTE),
        _m(False, "Got it, thanks. The path through the garden is a little confusing, but I "
                  "think I can find the door behind the roses if I keep left at the fountain.",
           3 * HOUR + 5 * MINUTE, quote=4),
        _m(True, "Keep left, then take the small door. Don't eat anything on the way.",
           2 * HOUR + 58 * MINUTE, quote=5, reactions=(("👍", False), ("❤️", False)),
           edited=True),
        _m(False, "(a message that was regretted)", 2 * HOUR, deleted=True),
        _m(True, "See you there 🫖", 14 * MINUTE, status=ItemStatus.DELIVERED),
        _m(True, "Bring an umbrella, just in case.", 2 * MINUTE, status=ItemStatus.SENT),
    )),
    SampleContact("bob", "Bob Ross", "Happy little trees.", messages=(
        _m(True, "How is the painting going?", 26 * HOUR),
        _m(False, "Almost done. Just a few happy little clouds left.", 40 * MINUTE,
           status=ItemStatus.NEW),
        _m(False, "Want to see it tonight?", 39 * MINUTE, status=ItemStatus.NEW),
    )),
    SampleContact("carol", "Carol Danvers", messages=(
        _m(False, "Landing at 9.", 6 * DAY, status=ItemStatus.NEW),
        _m(False, "Traffic on the bridge.", 6 * DAY - 10 * MINUTE, status=ItemStatus.NEW),
        _m(False, "Nevermind, flying over it.", 6 * DAY - 11 * MINUTE, status=ItemStatus.NEW),
    )),
    SampleContact("dave", "Dave Bowman", status=ContactStatus.PENDING),
)

LOREM = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
         "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
         "aliqua")
SAMPLE_REQUESTS = (("erin", "Erin Brockovich", "Environmental investigator."),
                   ("frank", "", ""))


async def seed_sample(data_dir: Path, now_ms: int, *, user: str = "robin",
                      full_name: str = "Robin Hood", ids: IdSource | None = None,
                      contacts: Sequence[SampleContact] = SAMPLE_CONTACTS,
                      requests: bool = True) -> None:
    """Write the sample user, contacts, messages and (optionally) contact requests."""
    ids = ids or counter_ids("s")
    db = await open_database(data_dir / DB_FILE)
    try:
        async with db.session() as s, s.begin():
            s.add(ChatUser(id=1, display_name=user, full_name=full_name, bio="",
                           auto_accept=False, created_at=now_ms - 30 * DAY))
            for n, spec in enumerate(contacts):
                contact = Contact(local_name=spec.name, display_name=spec.name,
                                  full_name=spec.full_name, bio=spec.bio,
                                  conn_id=f"sample-{spec.name}", status=spec.status,
                                  verified=spec.verified, via_address=False,
                                  created_at=now_ms - 20 * DAY, updated_at=now_ms - n * DAY)
                s.add(contact)
                await s.flush()
                shared: list[str] = []
                for msg in spec.messages:
                    msg_id = ids()
                    quoted = spec.messages[msg.quote - 1] if msg.quote else None
                    status = msg.status or ItemStatus.READ
                    ts = now_ms - msg.ago_ms
                    item = ChatItem(
                        contact_id=contact.id, shared_msg_id=msg_id,
                        direction=Direction.SND if msg.mine else Direction.RCV,
                        text="" if msg.deleted else msg.text, status=status,
                        agent_msg_id=len(shared) + 1, created_at=ts,
                        sent_at=None if msg.mine else ts, updated_at=ts, edited=msg.edited,
                        deleted=msg.deleted,
                        quote_msg_id=shared[msg.quote - 1] if msg.quote else None,
                        quote_text=quoted.text if quoted else None,
                        quote_sent=quoted.mine if quoted else None)
                    s.add(item)
                    await s.flush()
                    shared.append(msg_id)
                    for reaction, mine in msg.reactions:
                        s.add(ChatReaction(item_id=item.id, sent=mine, reaction=reaction,
                                           created_at=ts))
            if requests:
                for i, (name, full, bio) in enumerate(SAMPLE_REQUESTS):
                    s.add(ContactRequest(request_id=f"sample-request-{name}", local_name=name,
                                         display_name=name, full_name=full, bio=bio,
                                         created_at=now_ms - (i + 1) * HOUR))
    finally:
        await db.close()


async def bulk_messages(data_dir: Path, contact: str, count: int, now_ms: int,
                        ids: IdSource | None = None, batch: int = 10_000) -> None:
    """Append ``count`` messages to ``contact``'s chat (one a minute, alternating sides)."""
    ids = ids or counter_ids("b")
    db = await open_database(data_dir / DB_FILE)
    try:
        async with db.session() as s, s.begin():
            contact_row = (await s.execute(
                Contact.__table__.select().where(Contact.local_name == contact))).first()
            assert contact_row is not None, f"no contact {contact}"
            contact_id = contact_row.id
        for start in range(0, count, batch):
            rows = list(_bulk_rows(contact_id, range(start, min(count, start + batch)), count,
                                   now_ms, ids))
            async with db.engine.begin() as conn:  # Core executemany: no per-row ORM work
                await conn.execute(insert(ChatItem), rows)
    finally:
        await db.close()


def _bulk_rows(contact_id: int, numbers: Iterable[int], count: int, now_ms: int,
               ids: IdSource) -> Iterable[dict[str, object]]:
    words = LOREM
    for i in numbers:
        ts = now_ms - (count - i) * MINUTE
        mine = i % 3 == 0
        text = f"#{i} " + " ".join(words[(i + k) % len(words)] for k in range(3 + i % 17))
        yield {"contact_id": contact_id, "shared_msg_id": ids(),
               "direction": Direction.SND if mine else Direction.RCV, "text": text,
               "status": ItemStatus.READ, "agent_msg_id": i + 1, "created_at": ts,
               "sent_at": None if mine else ts, "updated_at": ts, "edited": False,
               "deleted": False}
