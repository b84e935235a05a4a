"""Running parsed commands: one handler per command type, each returning one response.

Handlers raise ``ChatError`` (or the agent's ``AgentError``, or ``LinkError``) for anything the
user must fix; the core turns those into an error response. A handler changes nothing before
it has checked its arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from simplextui.agent.errors import ConnectionNotFound
from simplextui.chat import commands as c
from simplextui.chat import contacts as contacts_q
from simplextui.chat import messages as items_q
from simplextui.chat.clock import now_ms
from simplextui.chat.context import ChatContext, log
from simplextui.chat.errors import ChatError
from simplextui.chat.groups.actions import GroupActions
from simplextui.chat.groups.links import GroupLinks, join_by_link  # GROUP-LINKS hook
from simplextui.chat.groups.views import group_item_views
from simplextui.chat.profiles import info_body, load_user, profile_of
from simplextui.chat.responses import (
    ChatResponse,
    CodeResponse,
    ContactInfoResponse,
    ContactsResponse,
    HelpResponse,
    HistoryResponse,
    LinkResponse,
    OkResponse,
    PendingResponse,
    ProfileResponse,
    RequestsResponse,
    SentResponse,
    VerifyResponse,
)
from simplextui.chat.view import MessageView
from simplextui.protocol.chat_events import (
    MAX_READ_IDS,
    MsgContent,
    MsgDelete,
    MsgNew,
    MsgReact,
    MsgRead,
    MsgUpdate,
    ProfileInfo,
    Quote,
)
from simplextui.protocol.links import Link, LinkError, LinkKind, expect_kind, parse_link
from simplextui.store.chat_models import (
    ChatItem,
    Contact,
    ContactStatus,
    Direction,
    ItemKind,
)

__all__ = ["Actions"]

Handler = Callable[[Any], Awaitable[ChatResponse]]


class Actions:
    def __init__(self, ctx: ChatContext) -> None:
        self.ctx = ctx
        self.quit_requested = asyncio.Event()
        self._joining: set[str] = set()  # links being joined now (canonical form)
        self._handlers: dict[type, Handler] = {
            c.CreateInvitation: self.create_invitation,
            c.Connect: self.connect,
            c.ListPending: self.list_pending,
            c.CancelPending: self.cancel_pending,
            c.CreateAddress: self.create_address,
            c.ShowAddress: self.show_address,
            c.DeleteAddress: self.delete_address,
            c.SetAutoAccept: self.set_auto_accept,
            c.AcceptRequest: self.accept_request,
            c.RejectRequest: self.reject_request,
            c.ListRequests: self.list_requests,
            c.SendText: self.send_text,
            c.Reply: self.reply,
            c.EditMessage: self.edit,
            c.DeleteMessage: self.delete_message,
            c.React: self.react,
            c.ListContacts: self.list_contacts,
            c.Tail: self.tail,
            c.ShowProfile: self.show_profile,
            c.SetProfile: self.set_profile,
            c.SetBio: self.set_bio,
            c.ContactInfo: self.contact_info,
            c.ShowCode: self.show_code,
            c.Verify: self.verify,
            c.DeleteContact: self.delete_contact,
            c.MarkRead: self.mark_read,
            c.Help: self.help,
            c.Quit: self.quit,
        }
        self._handlers.update(GroupActions(ctx).handlers())
        self._handlers.update(GroupLinks(ctx).handlers())  # GROUP-LINKS hook

    async def run(self, command: c.Command) -> ChatResponse:
        return await self._handlers[type(command)](command)

    # --- connections ----------------------------------------------------------------------

    async def create_invitation(self, _: c.CreateInvitation) -> ChatResponse:
        conn_id, link = await self.ctx.agent.create_invitation(info_body(self.ctx.user))
        async with self.ctx.tx() as s:
            await contacts_q.get_or_create_pending(s, conn_id, invitation_link=link)
        return LinkResponse("invitation", link)

    async def connect(self, cmd: c.Connect) -> ChatResponse:
        link = parse_link(cmd.link)
        if link.kind is LinkKind.GROUP:  # GROUP-LINKS hook: join a group by its link
            return await join_by_link(self.ctx, link)
        expect_kind(link, {LinkKind.INVITATION, LinkKind.ADDRESS})
        if link.kind is LinkKind.ADDRESS and await self._own_address(link):
            raise ChatError("this is your own contact address: give it to others to connect")
        canonical = link.uri
        if canonical in self._joining:
            raise ChatError(f"already connecting by this {_link_noun(link)}: wait for the "
                            "answer to the first /c")
        self._joining.add(canonical)
        try:
            await self._refuse_joined(link)
            conn_id = await self.ctx.agent.join(cmd.link, info_body(self.ctx.user))
            async with self.ctx.tx() as s:
                await contacts_q.get_or_create_pending(
                    s, conn_id, via_address=link.kind is LinkKind.ADDRESS,
                    joined_link=canonical)
        finally:
            self._joining.discard(canonical)
        if link.kind is LinkKind.ADDRESS:
            return OkResponse("contact request sent; you will be connected when it is accepted")
        return OkResponse("connecting…")

    async def _refuse_joined(self, link: Link) -> None:
        """A link joined before answers instead of sending a second request: the contact
        it made, or the request still waiting."""
        async with self.ctx.db.session() as s:
            earlier = await contacts_q.by_joined_link(s, link.uri)
        if earlier is None:
            return
        if earlier.status == ContactStatus.CONNECTED:
            raise ChatError(f"already connected as @{earlier.local_name} by this "
                            f"{_link_noun(link)}")
        if earlier.local_name is not None:  # accepted: the handshake is finishing
            raise ChatError(f"already connecting to @{earlier.local_name} by this "
                            f"{_link_noun(link)}, waiting for the connection to complete")
        since = _when(earlier.created_at)
        if link.kind is LinkKind.ADDRESS:
            raise ChatError(f"already sent a request to this address at {since}, waiting "
                            f"for it to be accepted (/invitations lists it as {earlier.id}; "
                            f"/cancel {earlier.id} withdraws it)")
        raise ChatError(f"already joined this invitation at {since}, waiting for the "
                        "connection to complete")

    async def list_pending(self, _: c.ListPending) -> ChatResponse:
        async with self.ctx.db.session() as s:
            rows = await contacts_q.list_pending(s)
        return PendingResponse([contacts_q.pending_view(x) for x in rows])

    async def cancel_pending(self, cmd: c.CancelPending) -> ChatResponse:
        """Delete a pending invitation's connection: its queue and link record go from the
        server (so the link fails for whoever tries it), then its row."""
        async with self.ctx.db.session() as s:
            row = await contacts_q.pending_by_id(s, cmd.pending_id)
        if row is None:
            raise ChatError(f"no pending invitation or request {cmd.pending_id} "
                            "(/invitations lists them)")
        what = "invitation" if row.invitation_link is not None else "request"
        if row.conn_id is not None:
            try:
                await self.ctx.agent.delete_connection(row.conn_id)
            except ConnectionNotFound:
                log.info("the connection of pending %s %d was already gone", what, row.id)
        async with self.ctx.tx() as s:
            current = await s.get(Contact, row.id)
            if current is not None and current.local_name is None:
                await s.delete(current)
        done = ("its link no longer works" if what == "invitation"
                else "you can send a new one")
        return OkResponse(f"{what} {cmd.pending_id} cancelled: {done}")

    async def _own_address(self, link: Link) -> bool:
        """Whether ``link`` is one of this user's addresses (a request to oneself would
        make a contact of oneself)."""
        for address in await self.ctx.agent.list_addresses():
            with contextlib.suppress(LinkError):
                if parse_link(address.link).link_id == link.link_id:
                    return True
        return False

    async def create_address(self, _: c.CreateAddress) -> ChatResponse:
        if await self.ctx.agent.get_address() is not None:
            raise ChatError("you already have a contact address (/sa shows it, /da deletes it)")
        return LinkResponse("address", await self.ctx.agent.create_address())

    async def show_address(self, _: c.ShowAddress) -> ChatResponse:
        link = await self.ctx.agent.get_address()
        if link is None:
            raise ChatError("you have no contact address (/ad creates one)")
        return LinkResponse("address", link)

    async def delete_address(self, _: c.DeleteAddress) -> ChatResponse:
        if await self.ctx.agent.get_address() is None:
            raise ChatError("you have no contact address")
        await self.ctx.agent.delete_address()
        return OkResponse("contact address deleted; existing contacts stay connected")

    async def set_auto_accept(self, cmd: c.SetAutoAccept) -> ChatResponse:
        async with self.ctx.tx() as s:
            user = await load_user(s)
            assert user is not None
            user.auto_accept = cmd.on
        self.ctx.user.auto_accept = cmd.on
        return OkResponse(f"auto-accept {'on' if cmd.on else 'off'}")

    async def accept_request(self, cmd: c.AcceptRequest) -> ChatResponse:
        async with self.ctx.tx() as s:
            request = await contacts_q.request_by_name(s, cmd.name)
            if request is None:
                raise ChatError(f"no contact request from {cmd.name} (/requests lists them)")
        await accept(self.ctx, request.request_id)
        return OkResponse(f"accepted {cmd.name}; connecting…", contact=cmd.name)

    async def reject_request(self, cmd: c.RejectRequest) -> ChatResponse:
        async with self.ctx.tx() as s:
            request = await contacts_q.request_by_name(s, cmd.name)
            if request is None:
                raise ChatError(f"no contact request from {cmd.name} (/requests lists them)")
        await self.ctx.agent.reject_request(request.request_id)
        async with self.ctx.tx() as s:
            await contacts_q.delete_request(s, request.request_id)
        return OkResponse(f"rejected {cmd.name}", contact=cmd.name)

    async def list_requests(self, _: c.ListRequests) -> ChatResponse:
        async with self.ctx.db.session() as s:
            requests = await contacts_q.list_requests(s)
        return RequestsResponse([contacts_q.request_view(r) for r in requests])

    # --- messages -------------------------------------------------------------------------

    async def send_text(self, cmd: c.SendText) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        item = await self.ctx.send_item(contact, MsgNew(MsgContent(cmd.text)), cmd.text, None)
        return SentResponse(f"@{contact.local_name}", item.shared_msg_id, cmd.text)

    async def reply(self, cmd: c.Reply) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        quoted = await self._find(contact, cmd.ref, None)
        quote = Quote(quoted.shared_msg_id, MsgContent(quoted.text),
                      sent=quoted.direction == Direction.SND)
        item = await self.ctx.send_item(contact, MsgNew(MsgContent(cmd.text), quote), cmd.text,
                                        quote)
        return SentResponse(f"@{contact.local_name}", item.shared_msg_id, cmd.text)

    async def edit(self, cmd: c.EditMessage) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        conn_id = self.ctx.require_connected(contact)
        item = await self._find(contact, cmd.ref, Direction.SND)
        if item.text == cmd.text:
            raise ChatError("the new text is the same as the old one")
        await self.ctx.send_event(conn_id, MsgUpdate(item.shared_msg_id, MsgContent(cmd.text)))
        async with self.ctx.tx() as s:
            row = await s.get(ChatItem, item.id)
            if row is not None:
                row.text, row.edited, row.updated_at = cmd.text, True, now_ms()
        return SentResponse(f"@{contact.local_name}", item.shared_msg_id, cmd.text)

    async def delete_message(self, cmd: c.DeleteMessage) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        conn_id = self.ctx.require_connected(contact)
        item = await self._find(contact, cmd.ref, Direction.SND)
        await self.ctx.send_event(conn_id, MsgDelete(item.shared_msg_id))
        async with self.ctx.tx() as s:
            row = await s.get(ChatItem, item.id)
            if row is not None:
                row.text, row.deleted, row.updated_at = "", True, now_ms()
        return SentResponse(f"@{contact.local_name}", item.shared_msg_id)

    async def react(self, cmd: c.React) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        conn_id = self.ctx.require_connected(contact)
        item = await self._find(contact, cmd.ref, None)
        async with self.ctx.db.session() as s:
            await items_q.refuse_unchanged_reaction(s, item.id, cmd.reaction, cmd.add)
        await self.ctx.send_event(conn_id, MsgReact(item.shared_msg_id, cmd.reaction, cmd.add))
        async with self.ctx.tx() as s:
            await items_q.set_reaction(s, item.id, True, cmd.reaction, cmd.add)
        return SentResponse(f"@{contact.local_name}", item.shared_msg_id)

    async def mark_read(self, cmd: c.MarkRead) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        async with self.ctx.tx() as s:
            ids = await items_q.mark_received_read(s, contact.id)
        if ids and contact.status == ContactStatus.CONNECTED and contact.conn_id:
            for start in range(0, len(ids), MAX_READ_IDS):
                chunk = tuple(ids[start:start + MAX_READ_IDS])
                await self.ctx.send_event(contact.conn_id, MsgRead(chunk))
        return OkResponse(f"{len(ids)} message(s) marked read", contact=contact.local_name)

    async def tail(self, cmd: c.Tail) -> ChatResponse:
        """One contact's chat, or every chat together (groups' messages too)."""
        async with self.ctx.db.session() as s:
            if cmd.contact is None:
                return HistoryResponse(None, await self._tail_all(s, cmd.count))
            contact_id = (await self.ctx.contact(s, cmd.contact)).id
            rows = await items_q.history(s, contact_id, cmd.count)
            reactions = await items_q.reactions_of(s, (item.id for item, _ in rows))
        views = [self.ctx.item_view(item, contact, reactions.get(item.id, ()))
                 for item, contact in rows]
        return HistoryResponse(f"@{cmd.contact}", views)

    async def _tail_all(self, s: AsyncSession, count: int) -> list[MessageView]:
        items = list((await s.execute(
            select(ChatItem).where(ChatItem.kind == ItemKind.MSG)
            .order_by(ChatItem.id.desc()).limit(count))).scalars())
        items.reverse()
        contact_ids = {i.contact_id for i in items if i.contact_id is not None}
        contacts = {x.id: x for x in (await s.execute(
            select(Contact).where(Contact.id.in_(contact_ids)))).scalars()}
        direct = [i for i in items if i.contact_id in contacts]
        reactions = await items_q.reactions_of(s, (i.id for i in direct))
        views = {i.id: self.ctx.item_view(i, contacts[i.contact_id],  # type: ignore[index]
                                          reactions.get(i.id, ())) for i in direct}
        in_groups = [i for i in items if i.group_id is not None]
        views.update(zip((i.id for i in in_groups),
                         await group_item_views(s, self.ctx, in_groups), strict=True))
        return [views[i.id] for i in items if i.id in views]

    # --- contacts and profile -------------------------------------------------------------

    async def list_contacts(self, _: c.ListContacts) -> ChatResponse:
        async with self.ctx.db.session() as s:
            contacts = await contacts_q.list_contacts(s)
        return ContactsResponse([contacts_q.contact_view(x) for x in contacts])

    async def contact_info(self, cmd: c.ContactInfo) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        return ContactInfoResponse(contacts_q.contact_view(contact))

    async def show_code(self, cmd: c.ShowCode) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        code = await self.ctx.agent.safety_code(self.ctx.require_connected(contact))
        return CodeResponse(cmd.contact, code)

    async def verify(self, cmd: c.Verify) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        verified = False
        if cmd.code is not None:
            code = await self.ctx.agent.safety_code(self.ctx.require_connected(contact))
            if _digits(code) != _digits(cmd.code):
                state = "stays verified" if contact.verified else "is NOT verified"
                raise ChatError(f"the security code does not match: @{cmd.contact} {state} "
                                "(compare /code with your contact out of band)")
            verified = True
        async with self.ctx.tx() as s:
            row = await s.get(Contact, contact.id)
            if row is not None:
                row.verified = verified
        return VerifyResponse(cmd.contact, verified)

    async def delete_contact(self, cmd: c.DeleteContact) -> ChatResponse:
        contact = await self._contact(cmd.contact)
        if contact.conn_id is not None and contact.status != ContactStatus.DELETED:
            try:
                await self.ctx.agent.delete_connection(contact.conn_id)
            except ConnectionNotFound:
                log.info("connection of @%s was already gone", contact.local_name)
        async with self.ctx.tx() as s:
            row = await s.get(Contact, contact.id)
            if row is not None:
                await s.delete(row)
        return OkResponse(f"@{cmd.contact} deleted", contact=cmd.contact)

    async def show_profile(self, _: c.ShowProfile) -> ChatResponse:
        user = self.ctx.user
        return ProfileResponse(user.display_name, user.full_name, user.bio, user.auto_accept)

    async def set_profile(self, cmd: c.SetProfile) -> ChatResponse:
        full = self.ctx.user.full_name if cmd.full_name is None else cmd.full_name
        return await self._update_profile(display_name=cmd.display_name, full_name=full)

    async def set_bio(self, cmd: c.SetBio) -> ChatResponse:
        return await self._update_profile(bio=cmd.bio)

    async def _update_profile(self, **changes: str) -> ChatResponse:
        async with self.ctx.tx() as s:
            user = await load_user(s)
            assert user is not None
            for key, value in changes.items():
                setattr(user, key, value)
        self.ctx.user = user  # only once committed: a failed commit leaves the old profile
        await self.broadcast_profile()
        return await self.show_profile(c.ShowProfile())

    async def broadcast_profile(self) -> None:
        """Send the user's profile (``x.info``) to every connected contact."""
        async with self.ctx.db.session() as s:
            contacts = [x for x in await contacts_q.list_contacts(s)
                        if x.status == ContactStatus.CONNECTED and x.conn_id]
        info = ProfileInfo(profile_of(self.ctx.user))
        for contact in contacts:
            assert contact.conn_id is not None
            try:
                await self.ctx.send_event(contact.conn_id, info)
            except Exception as exc:  # one failing contact must not stop the others
                log.warning("profile update to @%s failed: %s", contact.local_name, exc)

    # --- other --------------------------------------------------------------------------------

    async def help(self, _: c.Help) -> ChatResponse:
        return HelpResponse(c.HELP)

    async def quit(self, _: c.Quit) -> ChatResponse:
        self.quit_requested.set()
        return OkResponse("bye")

    # --- helpers ------------------------------------------------------------------------------

    async def _contact(self, name: str) -> Contact:
        async with self.ctx.db.session() as s:
            return await self.ctx.contact(s, name)

    async def _find(self, contact: Contact, ref: c.MsgRef, direction: Direction | None
                    ) -> ChatItem:
        """The message ``ref`` names in this chat; for edits and deletes, only own ones."""
        async with self.ctx.db.session() as s:
            if isinstance(ref, c.ByMsgId):
                item = await items_q.by_shared_id(s, contact.id, ref.msg_id)
                if item is not None and direction is not None and item.direction != direction:
                    raise ChatError("you can only edit or delete your own messages")
            else:
                item = await items_q.find_by_prefix(s, contact.id, ref.prefix, direction)
        if item is None or item.deleted:
            what = ref.msg_id if isinstance(ref, c.ByMsgId) else f"starting with {ref.prefix!r}"
            own = "of yours " if direction == Direction.SND else ""
            raise ChatError(f"no message {own}{what} in @{contact.local_name}")
        return item


async def accept(ctx: ChatContext, request_id: str) -> Contact | None:
    """Accept a contact request: the contact takes the request's name and waits to connect."""
    async with ctx.tx() as s:
        request = await contacts_q.request_by_id(s, request_id)
        if request is None:
            return None
    conn_id = await ctx.agent.accept_request(request_id, info_body(ctx.user))
    async with ctx.tx() as s:
        # the name is freed and taken again in one transaction, so no other peer can take it
        await contacts_q.delete_request(s, request_id)
        await s.flush()
        contact = await contacts_q.get_or_create_pending(
            s, conn_id, via_address=True, local_name=request.local_name)
        if contact.local_name is None:
            contact.local_name = request.local_name
        contact.display_name = request.display_name
        contact.full_name, contact.bio = request.full_name, request.bio
    return contact


def _link_noun(link: Link) -> str:
    return "address" if link.kind is LinkKind.ADDRESS else "invitation"


def _when(ms: int) -> str:
    """A row's time for people: "2026-11-23 06:40 UTC"."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _digits(code: str) -> str:
    return re.sub(r"\D", "", code)
