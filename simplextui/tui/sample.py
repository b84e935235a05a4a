"""Sample data: a user with contacts, conversations, requests and (optionally) groups written
straight into a client database, and an offline stand-in for the agent. Used by the snapshot
tests, the README screenshots and the benchmark, so that they show the same fixed, realistic state.

No Textual here, no network: ``SampleAgent`` answers the chat core from memory with fixed links.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from simplextui.agent.addresses import AddressInfo
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
    Group,
    GroupMember,
    GroupStatus,
    ItemStatus,
    MemberStatus,
)
from simplextui.store.db import Database, open_database
from simplextui.tui.clock import IdSource, counter_ids

__all__ = [
    "SAMPLE_CONTACTS",
    "SAMPLE_GROUPS",
    "SAMPLE_SERVER",
    "SampleAgent",
    "SampleContact",
    "SampleGroup",
    "SampleGroupItem",
    "SampleMember",
    "SampleMessage",
    "bulk_messages",
    "sample_agent_factory",
    "sample_group_link",
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

    async def create_invitation(self, my_info: bytes, *,
                                pq: bool | None = None) -> tuple[str, str]:
        n = next(self._links)
        return f"sample-conn-{n}", _link(LinkKind.INVITATION, n)

    async def join(self, link: str, my_info: bytes, *, pq: bool | None = None,
                   kind: str | None = None) -> str:
        raise AgentError("the sample agent is offline: it cannot connect")

    async def create_address(self) -> str:
        self._address = _link(LinkKind.ADDRESS, 100)
        return self._address

    async def get_address(self) -> str | None:
        return self._address

    async def delete_address(self, address_id: str | None = None) -> None:
        if address_id is None:
            self._address = None

    async def add_address(self, *, kind: str = "a",
                          app_data: bytes | None = None) -> tuple[str, str]:
        raise AgentError("the sample agent is offline: it cannot publish a link")

    async def list_addresses(self) -> list[AddressInfo]:
        return []

    async def get_link_data(self, link: str, *, kind: str) -> bytes | None:
        raise AgentError("the sample agent is offline: it cannot read links")

    async def accept_request(self, request_id: str, my_info: bytes) -> str:
        return f"sample-accepted-{request_id}"

    async def reject_request(self, request_id: str) -> None: ...

    async def send(self, conn_id: str, body: bytes, *, receipt: bool = True) -> int:
        return next(self._ids)

    async def send_many(self, items: Sequence[tuple[str, bytes]], *,
                        receipt: bool = True) -> list[int]:
        return [next(self._ids) for _ in items]

    async def message_processed(self, conn_id: str, agent_msg_id: int) -> None: ...
    async def delete_connection(self, conn_id: str, *, after_outbox: bool = False) -> None: ...

    async def safety_code(self, conn_id: str) -> str:
        digits = f"{zlib.crc32(conn_id.encode()) % 10**5:05d}"
        return " ".join([digits, "31415", "92653", "58979", "32384", "62643",
                         "38327", "95028", "84197", "16939", "93751", "05820"])


def sample_group_link(seed: int = 60) -> str:
    """A fixed group link (for screenshots of the group link dialog)."""
    return _link(LinkKind("g"), seed)


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



@dataclass(frozen=True)
class SampleMember:
    name: str
    role: str = "member"
    status: str = MemberStatus.CONNECTED
    introducer: str | None = None  # introduced: the member forwarding meanwhile
    contact: bool = False  # also a contact of this user (same name)


@dataclass(frozen=True)
class SampleGroupItem:
    sender: str | None  # None: this user
    text: str
    ago_ms: int
    event: bool = False  # a notice line ("dave joined")
    status: str = ""


@dataclass(frozen=True)
class SampleGroup:
    name: str
    display_name: str = ""
    description: str = ""
    status: str = GroupStatus.CONNECTED
    role: str = "owner"
    symmetric: bool = False
    inviter: str | None = None  # an invitation (status invited): the contact who sent it
    members: tuple[SampleMember, ...] = ()
    items: tuple[SampleGroupItem, ...] = ()


def _g(sender: str | None, text: str, ago: int, **kw: object) -> SampleGroupItem:
    return SampleGroupItem(sender, text, ago, **kw)  # type: ignore[arg-type]


SAMPLE_GROUPS: tuple[SampleGroup, ...] = (
    SampleGroup(
        "teaparty", "Tea Party", "The Hatter's table, every day at six.", members=(
            SampleMember("alice", "admin", contact=True),
            SampleMember("bob", contact=True),
            SampleMember("hatter", "member", MemberStatus.INTRODUCED, introducer="alice"),
            SampleMember("dormouse", "observer", MemberStatus.INVITED),
            SampleMember("march_hare", "member", MemberStatus.LEFT),
        ), items=(
            _g(None, "Welcome to the tea party!", 5 * HOUR),
            _g("alice", "alice joined", 4 * HOUR + 50 * MINUTE, event=True),
            _g("alice", "Thank you! Is there room at the table?", 4 * HOUR + 45 * MINUTE),
            _g("bob", "bob joined", 4 * HOUR, event=True),
            _g("bob", "I brought a painting of the garden.", 3 * HOUR + 58 * MINUTE),
            _g("hatter", "hatter joined (introduced by alice)", 2 * HOUR, event=True),
            _g("hatter", "No room! No room! ... oh, plenty of room.", 119 * MINUTE),
            _g("alice", "Why is a raven like a writing-desk?", 90 * MINUTE),
            _g(None, "Nobody knows. Pass the jam, please.", 80 * MINUTE),
            _g("march_hare", "march_hare left", 30 * MINUTE, event=True),
            _g("bob", "More tea?", 12 * MINUTE, status=ItemStatus.NEW),
        )),
    SampleGroup("bookclub", "Book club", "One chapter a week.", GroupStatus.INVITED,
                role="member", inviter="bob"),
    SampleGroup(
        "croquet", "Croquet", "Flamingos provided.", role="member", symmetric=True, members=(
            SampleMember("alice", "member", contact=True),
            SampleMember("queen", "member", "pending_approval"),
        ), items=(
            _g("alice", "Who invited the Queen?", 3 * DAY),
        )),
)

LOREM = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed",
         "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna",
         "aliqua")
SAMPLE_REQUESTS = (("erin", "Erin Brockovich", "Environmental investigator."),
                   ("frank", "", ""))


async def seed_sample(data_dir: Path, now_ms: int, *, user: str = "robin",
                      full_name: str = "Robin Hood", ids: IdSource | None = None,
                      contacts: Sequence[SampleContact] = SAMPLE_CONTACTS,
                      requests: bool = True, groups: Sequence[SampleGroup] = ()) -> None:
    """Write the sample user, contacts, messages, (optionally) contact requests and groups."""
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
            for n, spec_group in enumerate(groups):
                await _seed_group(s, spec_group, now_ms, ids, n)
    finally:
        await db.close()


async def _seed_group(s: Any, spec: SampleGroup, now_ms: int, ids: IdSource, n: int) -> None:
    contacts = {c.local_name: c.id for c in (await s.execute(select(Contact))).scalars()}
    group = Group(local_name=spec.name, display_name=spec.display_name or spec.name,
                  description=spec.description, status=spec.status, symmetric=spec.symmetric,
                  member_id=f"sample-me-{n}", role=spec.role,
                  inviter_contact_id=contacts.get(spec.inviter) if spec.inviter else None,
                  conn_req=_link(LinkKind.INVITATION, 50 + n) if spec.inviter else None,
                  created_at=now_ms - 7 * DAY, updated_at=now_ms - (n + 1) * HOUR)
    s.add(group)
    await s.flush()
    rows: dict[str, GroupMember] = {}
    for i, m in enumerate(spec.members):
        row = GroupMember(group_id=group.id, member_id=f"sample-m{n}-{i}", local_name=m.name,
                          display_name=m.name, role=m.role, status=m.status,
                          conn_id=f"sample-g{n}-{m.name}" if m.status == "connected" else None,
                          contact_id=contacts.get(m.name) if m.contact else None,
                          introducer_id=rows[m.introducer].id if m.introducer else None,
                          created_at=now_ms - 7 * DAY, updated_at=now_ms - 7 * DAY)
        s.add(row)
        await s.flush()
        rows[m.name] = row
    for item in spec.items:
        ts = now_ms - item.ago_ms
        mine = item.sender is None
        author = None if item.sender is None else rows[item.sender]
        values: dict[str, Any] = dict(
            group_id=group.id, member_id=author.id if author else None,
            shared_msg_id=ids(), direction=Direction.SND if mine else Direction.RCV,
            text=item.text, status=item.status or ItemStatus.READ, created_at=ts,
            sent_at=None if mine else ts, updated_at=ts, edited=False, deleted=False)
        if item.event:
            if not hasattr(ChatItem, "kind"):
                continue  # notices need the kind column (a later migration)
            values.update(kind="event", direction=Direction.RCV, sent_at=None)
        s.add(ChatItem(**values))
    await s.flush()


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
