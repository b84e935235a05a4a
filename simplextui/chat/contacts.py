"""Contacts and contact requests: lookups, naming on clash, and their views."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.chat.clock import now_ms
from simplextui.chat.names import local_name_base, unique_name
from simplextui.chat.view import ContactView, PendingView, RequestView
from simplextui.protocol.chat_events import Profile
from simplextui.store.chat_models import Contact, ContactRequest, ContactStatus

__all__ = [
    "allocate_name",
    "by_conn",
    "by_joined_link",
    "by_name",
    "contact_view",
    "get_or_create_pending",
    "list_contacts",
    "list_pending",
    "list_requests",
    "pending_by_id",
    "pending_view",
    "request_by_id",
    "request_by_name",
    "request_view",
    "set_profile",
]


async def by_name(session: AsyncSession, name: str) -> Contact | None:
    result = await session.execute(select(Contact).where(Contact.local_name == name))
    return result.scalar_one_or_none()


async def by_conn(session: AsyncSession, conn_id: str) -> Contact | None:
    result = await session.execute(select(Contact).where(Contact.conn_id == conn_id))
    return result.scalar_one_or_none()


async def list_contacts(session: AsyncSession) -> list[Contact]:
    result = await session.execute(
        select(Contact).where(Contact.local_name.is_not(None)).order_by(Contact.local_name))
    return list(result.scalars())


async def by_joined_link(session: AsyncSession, link: str) -> Contact | None:
    """The live connection (pending or connected) made by joining ``link`` (canonical form),
    if any: the newest one."""
    result = await session.execute(
        select(Contact).where(Contact.joined_link == link,
                              Contact.status != ContactStatus.DELETED)
        .order_by(Contact.id.desc()).limit(1))
    return result.scalar_one_or_none()


def _pending() -> ColumnElement[bool]:
    """Connections this user started that wait for the other side: an invitation made with
    /c nobody used (no peer name yet), or a request sent to an address not yet accepted."""
    return and_(Contact.status == ContactStatus.PENDING, Contact.local_name.is_(None),
                or_(Contact.invitation_link.is_not(None),
                    and_(Contact.via_address.is_(True), Contact.joined_link.is_not(None))))


async def list_pending(session: AsyncSession) -> list[Contact]:
    """Pending one-time invitations and contact requests, oldest first (see ``_pending``).
    Frontends read them through ``pending_view`` (the TUI with its own session)."""
    result = await session.execute(select(Contact).where(_pending()).order_by(Contact.id))
    return list(result.scalars())


async def pending_by_id(session: AsyncSession, pending_id: int) -> Contact | None:
    result = await session.execute(select(Contact).where(Contact.id == pending_id, _pending()))
    return result.scalar_one_or_none()


async def request_by_name(session: AsyncSession, name: str) -> ContactRequest | None:
    result = await session.execute(select(ContactRequest).where(ContactRequest.local_name == name))
    return result.scalar_one_or_none()


async def request_by_id(session: AsyncSession, request_id: str) -> ContactRequest | None:
    result = await session.execute(
        select(ContactRequest).where(ContactRequest.request_id == request_id))
    return result.scalar_one_or_none()


async def list_requests(session: AsyncSession) -> list[ContactRequest]:
    result = await session.execute(select(ContactRequest).order_by(ContactRequest.id))
    return list(result.scalars())


async def delete_request(session: AsyncSession, request_id: str) -> None:
    await session.execute(delete(ContactRequest).where(ContactRequest.request_id == request_id))


async def allocate_name(session: AsyncSession, display_name: str) -> str:
    """A local name for a peer called ``display_name``: free among contacts and requests."""
    base = local_name_base(display_name)
    taken: set[str] = set()
    for column in (Contact.local_name, ContactRequest.local_name):
        rows = await session.execute(select(column).where(or_(
            column == base, func.substr(column, 1, len(base) + 1) == base + "_")))
        taken.update(name for name in rows.scalars() if name is not None)
    return unique_name(base, taken)


async def get_or_create_pending(session: AsyncSession, conn_id: str, *,
                                via_address: bool = False,
                                local_name: str | None = None,
                                invitation_link: str | None = None,
                                joined_link: str | None = None) -> Contact:
    """The contact of ``conn_id``, created pending if new (an agent event may come first).
    ``invitation_link``: the one-time link made for it; ``joined_link``: the link joined
    (both kept on an existing row, which an early agent event may have created)."""
    contact = await by_conn(session, conn_id)
    if contact is None:
        now = now_ms()
        contact = Contact(conn_id=conn_id, local_name=local_name, display_name="",
                          full_name="", bio="", status=ContactStatus.PENDING, verified=False,
                          via_address=via_address, created_at=now, updated_at=now)
        session.add(contact)
    if invitation_link is not None:
        contact.invitation_link = invitation_link
    if joined_link is not None:
        contact.joined_link = joined_link
        contact.via_address = contact.via_address or via_address
    await session.flush()
    return contact


def set_profile(contact: Contact, profile: Profile) -> bool:
    """Store the peer's profile on ``contact``; True if anything changed."""
    new = (profile.display_name, profile.full_name, profile.bio)
    if (contact.display_name, contact.full_name, contact.bio) == new:
        return False
    contact.display_name, contact.full_name, contact.bio = new
    contact.updated_at = now_ms()
    return True


def contact_view(contact: Contact) -> ContactView:
    return ContactView(name=contact.local_name or "", display_name=contact.display_name,
                       full_name=contact.full_name, bio=contact.bio, status=contact.status,
                       verified=contact.verified)


def request_view(request: ContactRequest) -> RequestView:
    return RequestView(name=request.local_name, display_name=request.display_name,
                       full_name=request.full_name, bio=request.bio)


def pending_view(contact: Contact) -> PendingView:
    if contact.invitation_link is not None:
        return PendingView(contact.id, "invitation", contact.invitation_link, contact.created_at)
    return PendingView(contact.id, "request", contact.joined_link or "", contact.created_at)
