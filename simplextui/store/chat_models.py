"""The chat layer's tables: the user's profile, contacts, contact requests, messages, reactions.

Times are integer milliseconds since the epoch (UTC). Enumerated states are short strings
(``ContactStatus`` ...), checked in Python, so that new states need no table rebuild.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from simplextui.store.base import Base

__all__ = [
    "ChatItem",
    "ChatReaction",
    "ChatUser",
    "Contact",
    "ContactRequest",
    "ContactStatus",
    "Direction",
    "Group",
    "GroupDelivery",
    "GroupEarlyChange",
    "GroupIntro",
    "GroupMember",
    "GroupPendingMessage",
    "GroupSeenChange",
    "GroupStatus",
    "ItemKind",
    "ItemStatus",
    "MemberStatus",
]


class ContactStatus(StrEnum):
    PENDING = "pending"  # link created or joined, or request accepted; handshake not complete
    CONNECTED = "connected"
    DELETED = "deleted"  # the peer deleted the connection; history is kept


class Direction(StrEnum):
    SND = "snd"
    RCV = "rcv"


class ItemStatus(StrEnum):
    """Sent items move pending → sent → delivered → read; received items new → read."""

    PENDING = "pending"  # committed to the agent's outbox
    SENT = "sent"  # the server accepted it
    DELIVERED = "delivered"  # the peer's agent received it
    READ = "read"  # the peer read it (or, for received items, this user did)
    NEW = "new"  # received, not yet read


class ItemKind(StrEnum):
    MSG = "msg"  # a message someone wrote
    EVENT = "event"  # a notice line: "bob joined", "carol left", ...


# sent items not yet accepted by a server (the start-up resends look among these): a partial
# index's condition, used by a query whose terms (or their bound values) imply it
UNSENT_WHERE = "direction = 'snd' AND status = 'pending'"


class ChatUser(Base):
    """The local user's profile: exactly one row (id 1) per database."""

    __tablename__ = "chat_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Contact(Base):
    """A peer (or a pending connection, before the handshake gives it a name)."""

    __tablename__ = "chat_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # How this user addresses the contact (@alice, @alice_1); NULL while pending without a name.
    local_name: Mapped[str | None] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")  # the peer's own choice
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    conn_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the agent's
    status: Mapped[str] = mapped_column(String(16), default=ContactStatus.PENDING)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    via_address: Mapped[bool] = mapped_column(Boolean, default=False)
    # the one-time link this user made with /c for this connection (listed while unused)
    invitation_link: Mapped[str | None] = mapped_column(Text)
    # the link this user joined or sent a request to, in its canonical form: a second /c of
    # it is answered ("already connected as @bob") instead of sending a second request
    joined_link: Mapped[str | None] = mapped_column(Text, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ContactRequest(Base):
    """A request that arrived at this user's contact address, waiting for /accept or /reject."""

    __tablename__ = "chat_contact_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), unique=True)  # the agent's
    local_name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class ChatItem(Base):
    """One message in a direct chat (``contact_id``) or a group (``group_id``), sent or
    received."""

    __tablename__ = "chat_items"
    __table_args__ = (
        UniqueConstraint("contact_id", "shared_msg_id",
                         name="uq_chat_items_contact_id_shared_msg_id"),
        # group messages arrive directly and forwarded: shown once. A group message is known by
        # its author and shared id: another member reusing the id is another message.
        # (NULLs never clash: direct chats, notices.)
        UniqueConstraint("group_id", "author_member_id", "shared_msg_id",
                         name="uq_chat_items_group_id_author_shared_msg_id"),
        Index("ix_chat_items_group_id_id", "group_id", "id"),
        # keyset paging: WHERE contact_id = ? AND id < ? ORDER BY id DESC LIMIT n
        Index("ix_chat_items_contact_id_id", "contact_id", "id"),
        # status updates from the agent, which knows its own per-connection message ids
        Index("ix_chat_items_contact_id_agent_msg_id", "contact_id", "agent_msg_id"),
        # unread counts of the chat list read only the unread rows (not the whole history)
        Index("ix_chat_items_unread", "contact_id", "group_id",
              sqlite_where=text("direction = 'rcv' AND status = 'new'"),
              postgresql_where=text("direction = 'rcv' AND status = 'new'")),
        # the start-up resends read only the pending sent items, in order (migration 0015)
        Index("ix_chat_items_unsent", "id", sqlite_where=text(UNSENT_WHERE),
              postgresql_where=text(UNSENT_WHERE)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_contacts.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    # the author of a received group message (NULL: sent by this user, or a direct chat)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="SET NULL"))
    # came via the introducer (the server default: rows from before migration 0002)
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # "msg", or "event" for a notice line (member_id: the member it is about; None: this user)
    kind: Mapped[str] = mapped_column(String(8), default=ItemKind.MSG, server_default="msg")
    # received as group history from the inviter (sent before this user joined)
    history: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the author's name as the forwarder gave it, when the author is not a known member
    author_name: Mapped[str | None] = mapped_column(String(64))
    # a group message's author's group member id (this user's own for its messages; NULL in
    # direct chats and for notices): with ``shared_msg_id``, the message's identity
    author_member_id: Mapped[str | None] = mapped_column(String(24))
    shared_msg_id: Mapped[str] = mapped_column(String(24))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    quote_msg_id: Mapped[str | None] = mapped_column(String(24))
    quote_text: Mapped[str | None] = mapped_column(Text)
    quote_sent: Mapped[bool | None] = mapped_column(Boolean)  # quoted item was sent by this user
    # in a group, when not ``quote_sent``: the group member id of the quoted item's author
    quote_member_id: Mapped[str | None] = mapped_column(String(24))
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    agent_msg_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)  # local time of sending or receiving
    sent_at: Mapped[int | None] = mapped_column(BigInteger)  # server time, for received items
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ChatReaction(Base):
    """One reaction to an item: this user's (``sent``), the contact's, or in a group a
    member's (``member_id``). Each reacts with a given emoji at most once."""

    __tablename__ = "chat_reactions"
    __table_args__ = (
        Index("uq_chat_reactions_direct", "item_id", "sent", "reaction", unique=True,
              sqlite_where=text("member_id IS NULL"), postgresql_where=text("member_id IS NULL")),
        Index("uq_chat_reactions_member", "item_id", "member_id", "reaction", unique=True,
              sqlite_where=text("member_id IS NOT NULL"),
              postgresql_where=text("member_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("chat_items.id", ondelete="CASCADE"))
    sent: Mapped[bool] = mapped_column(Boolean)  # True: this user's reaction
    # a group member's reaction (NULL: this user's or, in a direct chat, the contact's)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    reaction: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupStatus(StrEnum):
    INVITED = "invited"  # an invitation waits for /j
    ACCEPTED = "accepted"  # joined the inviter's link; not connected yet
    CONNECTED = "connected"  # a member (or the creator)
    LEAVING = "leaving"  # /l given: passing on the introductions in flight first
    LEFT = "left"
    REMOVED = "removed"  # an admin removed this user
    DELETED = "deleted"  # an owner deleted the group; the history is kept


class MemberStatus(StrEnum):
    """Where this user's connection with another member stands."""

    INVITED = "invited"  # invited by this user (or the invitation to us); not connected
    INTRODUCED = "introduced"  # known through an introduction; connecting
    PENDING_APPROVAL = "pending_approval"  # symmetric group: waits for /approve or /reject
    REJECTED = "rejected"  # this user rejected the addition
    DECLINED = "declined"  # the invited contact declined the invitation
    CONNECTED = "connected"  # connected directly
    LEFT = "left"
    REMOVED = "removed"


class Group(Base):
    """A lightweight group as this user sees it; ``membership_id`` is this user's member."""

    __tablename__ = "chat_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_name: Mapped[str] = mapped_column(String(80), unique=True)  # #team, #team_1
    display_name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16))
    symmetric: Mapped[bool] = mapped_column(Boolean, default=False)
    # messages sent to a new member by its inviter (0: none)
    history_count: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    # symmetric groups: additions once the group has this many members wait for approval
    approval_threshold: Mapped[int | None] = mapped_column(Integer)
    # the sequence number of the last group event this user authored (``groups.sequence``)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # this user in the group: its group-wide member id and role
    member_id: Mapped[str] = mapped_column(String(24))
    role: Mapped[str] = mapped_column(String(16))
    # who invited this user (its GroupMember row's id; NULL for the creator)
    host_id: Mapped[int | None] = mapped_column(Integer)
    # contact that invited us, and the connection link to join (while status is invited)
    inviter_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_contacts.id", ondelete="SET NULL"))
    conn_req: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class GroupMember(Base):
    """Another member of a group, with this user's connection to it."""

    __tablename__ = "chat_group_members"
    __table_args__ = (
        UniqueConstraint("group_id", "member_id", name="uq_chat_group_members_group_id_member_id"),
        UniqueConstraint("group_id", "local_name",
                         name="uq_chat_group_members_group_id_local_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    member_id: Mapped[str] = mapped_column(String(24))  # group-wide random id
    local_name: Mapped[str] = mapped_column(String(80))
    display_name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(128), default="")
    bio: Mapped[str] = mapped_column(String(500), default="")
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    conn_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # the agent's
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_contacts.id", ondelete="SET NULL"))  # invited from this contact
    # the member that introduced this one to us (gets our x.grp.mem.con)
    introducer_id: Mapped[int | None] = mapped_column(Integer)
    # an introduction held until this user approves it (symmetric groups): the invitation
    pending_conn_req: Mapped[str | None] = mapped_column(Text)
    # joined after this user (announced by an admin, or invited by this user): its connection
    # is a join ("bob joined"), not this user meeting an existing member
    joined_later: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # this user is joining the member's invitation (its connection id is not known yet)
    joining: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the member ids its announcer said it introduces it to (space-separated; NULL: not told)
    announced_to: Mapped[str | None] = mapped_column(Text)
    # (a member this user invited) "connected to every member" was reported
    all_connected: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # this user's ``Group.last_seq`` when it learned of the member: told to it on connecting
    learned_seq: Mapped[int | None] = mapped_column(Integer)
    # what the member told on connecting: its last sequence number from before it learned of
    # this user (forwarded copies of its events with a higher one are refused once connected)
    seq_bound: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class GroupIntro(Base):
    """An introduction this user made: ``re_member`` (existing) to ``to_member`` (new).
    While not both connected, this user forwards their messages between them."""

    __tablename__ = "chat_group_intros"
    __table_args__ = (
        UniqueConstraint("re_member_id", "to_member_id",
                         name="uq_chat_group_intros_re_member_id_to_member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    re_member_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    to_member_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    invitation_forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    re_connected: Mapped[bool] = mapped_column(Boolean, default=False)  # re reported x.grp.mem.con
    to_connected: Mapped[bool] = mapped_column(Boolean, default=False)  # to reported it
    # made after the new member was connected to all: a pair a concurrent invite missed
    catch_up: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupDelivery(Base):
    """A sent group item's delivery to one member: ``pending`` → ``sent`` → ``delivered``."""

    __tablename__ = "chat_group_deliveries"
    __table_args__ = (
        UniqueConstraint("item_id", "member_id", name="uq_chat_group_deliveries_item_id_member_id"),
        Index("ix_chat_group_deliveries_member_id_agent_msg_id", "member_id", "agent_msg_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("chat_items.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    agent_msg_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))


class GroupPendingMessage(Base):
    """A group event this user sent while ``member`` was introduced but not connected to it:
    sent to that member directly once the pair connects (``groups.pending``); receivers
    drop the copy they already got forwarded (same shared msg id)."""

    __tablename__ = "chat_group_pending_messages"
    __table_args__ = (
        Index("ix_chat_group_pending_messages_member_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    shared_msg_id: Mapped[str] = mapped_column(String(24))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the encoded chat message, as sent
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupSeenChange(Base):
    """An edit, deletion or reaction received directly from its author (``groups.seen``):
    a forwarded copy arriving later is dropped, even across restarts. Pruned per group."""

    __tablename__ = "chat_group_seen_changes"
    __table_args__ = (
        UniqueConstraint("group_id", "author_member_id", "msg_id",
                         name="uq_chat_group_seen_changes_group_id_author_member_id_msg_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    author_member_id: Mapped[str] = mapped_column(String(24))
    msg_id: Mapped[str] = mapped_column(String(24))  # the change's own shared msg id
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupEarlyChange(Base):
    """An edit, deletion or reaction that arrived before the message it is about
    (``groups.early``): applied when that message arrives. Bounded per sender."""

    __tablename__ = "chat_group_early_changes"
    __table_args__ = (
        Index("ix_chat_group_early_changes_target", "group_id", "author_member_id", "msg_id"),
        Index("ix_chat_group_early_changes_sender_id", "sender_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    # the message it is about: its author's member id and shared id
    author_member_id: Mapped[str] = mapped_column(String(24))
    msg_id: Mapped[str] = mapped_column(String(24))
    # who sent the change (checked again when it is applied)
    sender_id: Mapped[int] = mapped_column(
        ForeignKey("chat_group_members.id", ondelete="CASCADE"))
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the encoded change, as received
    created_at: Mapped[int] = mapped_column(BigInteger)
