"""Making connections: invitations, joining, contact addresses and their requests.

Fast handshake (one message each way before both sides are connected):

- the inviter creates its receive queue and a link record holding the encrypted
  :class:`~simplextui.protocol.agent.InvitationData` (queue + hybrid X3DH parameters);
- the joiner reads the link, does X3DH (X25519 + ML-KEM-768), creates its own receive queue
  on one of its servers, secures the inviter's queue with SKEY (a used invitation fails
  here), and queues a confirmation: its X3DH reply and the first ratchet message, INFO
  {reply queue, info};
- the inviter (:mod:`simplextui.agent.receive`) answers with SKEY on the reply queue and its
  own INFO; it is connected once that INFO is accepted, the joiner once it receives it.

A contact request is the requester's inline invitation, sealed to the address's keys and sent
unauthenticated to the address's contact-mode queue; accepting it is joining that invitation.
Network steps come first, then everything is committed in one transaction, and from there
the outbox takes over (retries, restarts).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable

from sqlalchemy import Connection

from simplextui.agent import repo
from simplextui.agent.context import AgentContext, LiveConn, ReceiveTarget, new_id
from simplextui.agent.errors import AgentError, LinkGone
from simplextui.agent.repo import CleanupKind, ConnState, QueueRole
from simplextui.agent.sealing import (
    open_link_data,
    open_user_data,
    seal_link_data,
    seal_request,
    seal_user_data,
)
from simplextui.crypto.errors import CryptoError
from simplextui.crypto.ratchet import Ratchet
from simplextui.crypto.x3dh import InvitationParams, InviterKeys, JoinParams, joiner_agree
from simplextui.protocol import agent as wire
from simplextui.protocol.errors import ErrorCode, ProtocolError
from simplextui.protocol.links import Link, LinkError, LinkKind, expect_kind, parse_link
from simplextui.protocol.queue import ID_SIZE, QueueMode
from simplextui.transport import (
    LinkOwner,
    RecipientQueue,
    SenderQueue,
    ServerError,
    ServerUnreachable,
    TransportError,
)

log = logging.getLogger("simplextui.agent.handshake")
_JOIN_KINDS = (LinkKind.INVITATION, LinkKind.ADDRESS)


def _check_info(info: bytes) -> None:
    if not isinstance(info, bytes):
        raise AgentError("connection info must be bytes")
    if len(info) > wire.MAX_INFO:
        raise AgentError(f"connection info is {len(info)} bytes; at most {wire.MAX_INFO}")


def _network_error(exc: TransportError, what: str) -> AgentError:
    if isinstance(exc, ServerUnreachable):
        return AgentError(f"{what}: the server is unreachable ({exc})")
    return AgentError(f"{what}: {exc}")


def _zero_state() -> dict[str, object]:
    return {"last_sent_id": 0, "last_sent_hash": wire.ZERO_HASH,
            "last_rcvd_id": 0, "last_rcvd_hash": wire.ZERO_HASH}


class Handshake:
    def __init__(self, ctx: AgentContext) -> None:
        self._ctx = ctx

    async def _new_queue(self, mode: QueueMode = QueueMode.MESSAGING) -> RecipientQueue:
        server = self._ctx.choose_server()
        try:
            return await self._ctx.client(server).create_queue(mode)
        except TransportError as exc:
            raise _network_error(exc, f"cannot create a queue on {server.short()}") from exc

    async def new_queue(self, mode: QueueMode = QueueMode.MESSAGING) -> RecipientQueue:
        return await self._new_queue(mode)

    async def new_link(self, kind: LinkKind, queue: RecipientQueue, payload: wire.LinkPayload,
                       app_data: bytes | None = None) -> tuple[Link, LinkOwner]:
        """Create a link record on ``queue``'s server; ``app_data`` goes, sealed, into its
        mutable user data (empty without)."""
        link_id, link_key = os.urandom(ID_SIZE), os.urandom(32)
        fixed = seal_link_data(link_key, kind.value, link_id, wire.encode_link_payload(payload))
        user = (b"" if app_data is None
                else seal_user_data(link_key, kind.value, link_id, app_data))
        try:
            owner = await self._ctx.client(queue.server).create_link(link_id, fixed, user)
        except TransportError as exc:
            raise _network_error(exc, "cannot create the link") from exc
        return Link(kind, queue.server, link_id, link_key), owner

    async def subscribe(self, target: ReceiveTarget) -> None:
        """Index the queue, then subscribe; if the server is down it subscribes on return."""
        self._ctx.rcv_index[target.queue.recipient_id] = target
        task = self._ctx.spawn(self._ctx.subscribe(target.queue.server, [target.queue]))
        await asyncio.wait([task], timeout=self._ctx.config.subscribe_wait)

    # ------------------------------------------------------------------ invitations

    async def create_invitation(self, my_info: bytes, *, pq: bool) -> tuple[str, str]:
        _check_info(my_info)
        rq = await self._new_queue()
        made: list[RecipientQueue | LinkOwner] = [rq]
        try:
            keys = InviterKeys.generate(pq=True)  # the X3DH is hybrid whatever the ratchet does
            data = wire.InvitationData(
                wire.QueueAddress(rq.server, rq.sender_id, rq.server_sender_key),
                keys.params().to_bytes())
            link, owner = await self.new_link(LinkKind.INVITATION, rq, data)
            made.append(owner)
            conn_id = new_id()

            def unit(c: Connection) -> int:
                repo.insert_connection(
                    c, id=conn_id, role="inviter", state=ConnState.INVITED, pq=pq,
                    my_info=my_info, inviter_keys=keys.to_bytes(), link=link.uri,
                    link_owner=owner.to_dict(), **_zero_state())
                return repo.insert_queue(
                    c, conn_id=conn_id, role=QueueRole.RCV, server=str(rq.server),
                    creds=rq.to_dict(), recipient_id=rq.recipient_id)

            queue_id = await self._ctx.write(unit)
        except BaseException:
            await self.abandon(made)
            raise
        await self.subscribe(ReceiveTarget(queue_id, conn_id, rq))
        return conn_id, link.uri

    async def abandon(self, made: list[RecipientQueue | LinkOwner]) -> None:
        """What a failed creation already made on servers is to be deleted there (recorded
        for :mod:`simplextui.agent.cleanup`; only logged if even that fails)."""
        jobs = [{"server": str(x.server), "kind": CleanupKind.QUEUE, "creds": x.to_dict()}
                if isinstance(x, RecipientQueue) else
                {"server": str(x.server), "kind": CleanupKind.LINK, "creds": x.to_dict()}
                for x in made]
        try:
            await self._ctx.write(lambda c: repo.insert_cleanups(c, jobs))
        except Exception:
            log.exception("could not record the clean-up of an abandoned creation")
            return
        if self._ctx.cleaner is not None:
            self._ctx.cleaner.notify()

    async def fetch_link(self, text: str, kinds: Iterable[LinkKind] = _JOIN_KINDS
                         ) -> tuple[Link, wire.LinkPayload, bytes | None]:
        """Read and open a link record of one of ``kinds``: the link, its payload and the
        app data of its user data (None if it has none)."""
        link = expect_kind(parse_link(text), kinds)
        try:
            record = await self._ctx.client(link.server).get_link(link.link_id)
        except ServerError as exc:
            if exc.code == ErrorCode.AUTH:
                raise LinkGone("this link no longer exists on its server "
                               "(it was deleted, or never created)") from None
            raise _network_error(exc, "cannot read the link") from exc
        except TransportError as exc:
            raise _network_error(exc, "cannot read the link") from exc
        try:
            plain = open_link_data(link.link_key, link.kind.value, link.link_id,
                                   record.fixed_data)
            payload = wire.decode_link_payload(plain)
        except CryptoError:
            raise LinkError("the link's data cannot be decrypted: the link is damaged "
                            "or forged") from None
        except ProtocolError as exc:
            raise LinkError(f"the link's data is malformed ({exc})") from None
        expected = wire.InvitationData if link.kind == LinkKind.INVITATION else wire.AddressData
        if not isinstance(payload, expected):
            raise LinkError(f"the link's data does not match its kind ({link.kind.description})")
        try:
            wire.check_version_range(payload.min_version, payload.max_version)
        except ProtocolError as exc:
            raise AgentError(f"this link needs another version of simplextui ({exc})") from None
        app_data = None
        if record.user_data:
            try:
                app_data = open_user_data(link.link_key, link.kind.value, link.link_id,
                                          record.user_data)
            except CryptoError:
                raise LinkError("the link's data cannot be decrypted: the link is damaged "
                                "or forged") from None
        return link, payload, app_data

    async def join(self, text: str, my_info: bytes, *, pq: bool,
                   kinds: Iterable[LinkKind] = _JOIN_KINDS) -> str:
        _check_info(my_info)
        await self._refuse_own_link(expect_kind(parse_link(text), kinds))
        _, payload, _ = await self.fetch_link(text, kinds)
        if isinstance(payload, wire.InvitationData):
            return await self.join_invitation(payload, my_info, pq=pq)
        return await self.request_contact(payload, my_info, pq=pq)

    async def _refuse_own_link(self, link: Link) -> None:
        """Joining a link of our own would connect us to ourselves."""
        for text in await self._ctx.read(repo.own_links):
            try:
                own = parse_link(text)
            except LinkError:
                continue
            if own.link_id == link.link_id and own.server == link.server:
                raise AgentError(f"this is your own {link.kind.description.removeprefix('a ')}"
                                 ": it is for others to connect to you")

    async def join_invitation(self, inv: wire.InvitationData, my_info: bytes, *, pq: bool,
                              request_id: str | None = None) -> str:
        """Join an invitation (from a link, or inline in a contact request we accept)."""
        _check_info(my_info)
        if inv.queue.server_sender_key is None:
            raise AgentError("the invitation's queue has no key: it is malformed")
        try:
            params = InvitationParams.from_bytes(inv.x3dh_params)
            join_params, shared = joiner_agree(params, pq=True)
            ratchet = Ratchet.init_responder(shared, params, pq=pq)
        except CryptoError as exc:
            raise AgentError(f"the invitation's keys are malformed ({exc})") from None
        async with self._ctx.lock(f"\0join {inv.queue.server} {inv.queue.sender_id.hex()}"):
            join_id, rq, sender = await self._secure_invitation(inv.queue)
            return await self._commit_join(join_id, rq, sender, ratchet, join_params,
                                           my_info, pq=pq, request_id=request_id)

    async def _secure_invitation(self, invited: wire.QueueAddress
                                 ) -> tuple[int, RecipientQueue, SenderQueue]:
        """SKEY the invitation's queue with a sender key stored before it is first sent.

        A retry of the same join (the last failed: the server was unreachable, or its
        answer was lost after it took the key) sends the same key again, which the server
        accepts again, and reuses the receive queue made for it. Returns the pending join's
        id, our receive queue and the secured sender queue. A refusal abandons the join.
        """
        server, sender_id = str(invited.server), invited.sender_id
        row = await self._ctx.read(lambda c: repo.get_join(c, server, sender_id))
        if row is not None:
            try:
                join_id = row.id
                rq = RecipientQueue.from_dict(row.rcv)
                sender = SenderQueue.from_dict(row.sender)
            except (ProtocolError, KeyError, TypeError, ValueError) as exc:
                damaged = row.id
                log.warning("pending join %d is damaged (%r); starting again", damaged, exc)
                await self._ctx.write(lambda c: repo.delete_join(c, damaged))
                row = None
        if row is None:
            assert invited.server_sender_key is not None
            try:
                sender = self._ctx.client(invited.server).new_sender(
                    sender_id, invited.server_sender_key)
            except ProtocolError:
                raise AgentError("the invitation's queue key is malformed") from None
            rq = await self._new_queue()
            try:
                join_id = await self._ctx.write(lambda c: repo.insert_join(
                    c, server=server, sender_id=sender_id, sender=sender.to_dict(),
                    rcv=rq.to_dict()))
            except BaseException:
                await self.abandon([rq])
                raise
        try:
            await self._ctx.client(invited.server).secure(sender)
        except ServerError as exc:
            if exc.code == ErrorCode.AUTH:
                await self._ctx.write(lambda c: repo.delete_join(c, join_id, abandon=True))
                if self._ctx.cleaner is not None:
                    self._ctx.cleaner.notify()  # our queue made for it goes
                raise AgentError("this invitation was already used, or it has expired") from None
            raise _network_error(exc, "cannot use the invitation") from exc
        except TransportError as exc:
            raise _network_error(exc, "cannot use the invitation") from exc
        return join_id, rq, sender

    async def _commit_join(self, join_id: int, rq: RecipientQueue, sender: SenderQueue,
                           ratchet: Ratchet, join_params: JoinParams, my_info: bytes, *,
                           pq: bool, request_id: str | None) -> str:
        """The invitation's queue is ours: commit the connection and queue the
        confirmation (the outbox sends it)."""
        conn_id = new_id()
        live = LiveConn(
            id=conn_id, role="joiner", state=ConnState.JOINED, pq=pq,
            ratchet=ratchet, last_sent_id=0, last_sent_hash=wire.ZERO_HASH, last_rcvd_id=0,
            last_rcvd_hash=wire.ZERO_HASH, inviter_keys=None, my_info=None, peer_info=None,
            link_owner=None, rcv=None, snd_queue_id=None, snd_server=str(sender.server))
        jp = join_params.to_bytes()
        info = wire.Info(my_info, wire.QueueAddress(rq.server, rq.sender_id, rq.server_sender_key))
        plain, msg_hash = wire.encode_agent_message(1, wire.ZERO_HASH, info,
                                                    wire.CONFIRMATION_PADDED)
        ciphertext = ratchet.encrypt(plain, wire.envelope_header("C") + jp)
        body = wire.encode_envelope(wire.Confirmation(jp, ciphertext))
        ratchet_state = ratchet.to_bytes()

        def unit(c: Connection) -> tuple[int, int]:
            repo.insert_connection(
                c, id=conn_id, role="joiner", state=ConnState.JOINED, pq=pq,
                ratchet=ratchet_state, last_sent_id=1, last_sent_hash=msg_hash,
                last_rcvd_id=0, last_rcvd_hash=wire.ZERO_HASH)
            rcv_id = repo.insert_queue(
                c, conn_id=conn_id, role=QueueRole.RCV, server=str(rq.server),
                creds=rq.to_dict(), recipient_id=rq.recipient_id)
            snd_id = repo.insert_queue(
                c, conn_id=conn_id, role=QueueRole.SND, server=str(sender.server),
                creds=sender.to_dict(), secured=True)
            repo.insert_outbox(c, [{
                "conn_id": conn_id, "queue_id": snd_id, "op": "send", "kind": "CONF",
                "agent_msg_id": 1, "body": body, "msg_hash": msg_hash}])
            if request_id is not None:
                repo.delete_request(c, request_id)
            repo.delete_join(c, join_id)
            return rcv_id, snd_id

        rcv_id, snd_id = await self._ctx.write(unit)
        live.rcv = ReceiveTarget(rcv_id, conn_id, rq)
        live.snd_queue_id, live.last_sent_id, live.last_sent_hash = snd_id, 1, msg_hash
        self._ctx.cache(live)
        await self.subscribe(live.rcv)
        if self._ctx.outbox is not None:
            self._ctx.outbox.notify(str(sender.server))
        return conn_id

    # ---------------------------------------------------------------- contact requests

    async def request_contact(self, address: wire.AddressData, my_info: bytes, *,
                              pq: bool) -> str:
        """Send a contact request to an address; the connection completes when accepted."""
        keys = InviterKeys.generate(pq=True)
        rq = await self._new_queue()
        invitation = wire.InvitationData(
            wire.QueueAddress(rq.server, rq.sender_id, rq.server_sender_key),
            keys.params().to_bytes())
        plain = wire.encode_contact_request(wire.ContactRequestBody(invitation, my_info))
        eph, kem_ct, sealed = seal_request(address.request_key, address.kem_key, plain,
                                           wire.envelope_header("R"))
        body = wire.encode_envelope(wire.ContactRequestEnvelope(eph, kem_ct, sealed))
        contact = SenderQueue(address.queue.sender_id, address.queue.server, None, None)
        conn_id = new_id()

        def unit(c: Connection) -> int:
            repo.insert_connection(
                c, id=conn_id, role="inviter", state=ConnState.REQUESTED, pq=pq,
                my_info=my_info, inviter_keys=keys.to_bytes(), **_zero_state())
            rcv_id = repo.insert_queue(
                c, conn_id=conn_id, role=QueueRole.RCV, server=str(rq.server),
                creds=rq.to_dict(), recipient_id=rq.recipient_id)
            contact_id = repo.insert_queue(
                c, conn_id=conn_id, role=QueueRole.CONTACT, server=str(contact.server),
                creds=contact.to_dict())
            repo.insert_outbox(c, [{
                "conn_id": conn_id, "queue_id": contact_id, "op": "send", "kind": "REQ",
                "body": body}])
            return rcv_id

        rcv_id = await self._ctx.write(unit)
        await self.subscribe(ReceiveTarget(rcv_id, conn_id, rq))
        if self._ctx.outbox is not None:
            self._ctx.outbox.notify(str(contact.server))
        return conn_id

    async def accept_request(self, request_id: str, my_info: bytes, *, pq: bool) -> str:
        row = await self._ctx.read(lambda c: repo.get_request(c, request_id))
        if row is None:
            raise AgentError(f"no pending contact request {request_id!r}")
        payload = wire.decode_link_payload(row.invitation)
        assert isinstance(payload, wire.InvitationData)
        return await self.join_invitation(payload, my_info, pq=pq, request_id=request_id)

    async def reject_request(self, request_id: str) -> None:
        """Forget the request, and a join of it left by a failed accept (its queue goes)."""

        def unit(c: Connection) -> bool:
            row = repo.get_request(c, request_id)
            if row is None:
                return False
            try:
                payload = wire.decode_link_payload(row.invitation)
            except ProtocolError:
                payload = None
            if isinstance(payload, wire.InvitationData):
                join = repo.get_join(c, str(payload.queue.server), payload.queue.sender_id)
                if join is not None:
                    repo.delete_join(c, join.id, abandon=True)
            return bool(repo.delete_request(c, request_id))

        if not await self._ctx.write(unit):
            raise AgentError(f"no pending contact request {request_id!r}")
        if self._ctx.cleaner is not None:
            self._ctx.cleaner.notify()
