"""``simplextui demo``: scripted peers living in the app's process, so a newcomer sees real
conversations a few seconds after start.

Each peer is a real ``ChatCore`` with the real agent and its own data dir, on the same embedded
queue server as the user. Alice and Bob connect by one-time links (the user's core joins their
links, through the command language); Carol asks to connect through the user's contact address,
so a request waits in Contacts (F2) to be accepted. Then they chat on a timer, read what the
user sends, react to it and answer with quoted replies. Invited to a group (Ctrl+G makes one),
they join and now and then answer what is said there. No Textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simplextui.chat.core import ChatCore
from simplextui.chat.events import (
    ChatEvent,
    ContactConnected,
    GroupInvitationReceived,
    MessageReceived,
)
from simplextui.chat.responses import ContactsResponse, ErrorResponse, LinkResponse
from simplextui.tui.backend import Backend

__all__ = ["PEERS", "DemoPeers", "PeerScript"]

log = logging.getLogger("simplextui.demo")


@dataclass(frozen=True)
class PeerScript:
    name: str
    full_name: str
    bio: str
    via_address: bool  # asks through the user's address instead of a one-time link
    opening: tuple[str, ...]  # sent one by one after connecting
    chatter: tuple[str, ...]  # sent now and then
    replies: tuple[str, ...]  # answers to the user's messages (quoted)
    reactions: tuple[str, ...] = ("👍", "❤️", "😂")


PEERS: tuple[PeerScript, ...] = (
    PeerScript(
        "alice", "Alice Liddell", "Curiouser and curiouser.", False,
        opening=("Hi! 👋 I'm Alice, a scripted peer: this demo runs a real server and real "
                 "encrypted connections, all inside this one process.",
                 "Try answering me: type below and press Enter. To reply to a particular "
                 "message, press Esc, pick it with ↑/↓ and press r.",
                 "You can also react (+), edit (e) or delete (d) your own messages, and copy "
                 "(y) any message."),
        chatter=("The Cheshire Cat says hello, or at least his grin does.",
                 "Why is a raven like a writing desk?",
                 "I've just had the strangest tea party.",
                 "Do you think the Queen will notice if the roses are painted?"),
        replies=("Curiouser and curiouser!", "That's exactly what the Hatter said.",
                 "Oh, I quite agree.", "How very odd. Tell me more!"),
    ),
    PeerScript(
        "bob", "Bob Ross", "Happy little trees.", False,
        opening=("Hello friend. Press F2 to see your contacts, make a one-time link with a QR "
                 "code, or set up your address.",
                 "Ctrl+P opens the command palette: switch chats, change the theme, or take a "
                 "screenshot."),
        chatter=("Just painted a happy little cloud. ☁️",
                 "There are no mistakes, just happy accidents.",
                 "Let's give this tree a friend.",
                 "Talent is a pursued interest."),
        replies=("That's a happy thought.", "Beautiful. Just beautiful.",
                 "We don't make mistakes here.", "Let's get crazy!"),
    ),
    PeerScript(
        "carol", "Carol Danvers", "Higher, further, faster.", True,
        opening=("Thanks for accepting! I asked through your contact address: that's the "
                 "long-term link in Contacts → Address.",
                 "Press F4 in a chat to compare safety codes and verify a contact."),
        chatter=("Flying over the city, nice view from up here.",
                 "Anyone up for a quick trip to space?"),
        replies=("Roger that.", "On my way! 🚀", "Copy, over and out."),
    ),
)


class _Peer:
    def __init__(self, script: PeerScript, core: ChatCore) -> None:
        self.script = script
        self.core = core
        self.user_name: str | None = None  # how this peer names the user
        self.connected = asyncio.Event()
        self.known = False  # connected in an earlier run of the demo: no greeting again
        self.chatter = 0

    async def on_event(self, event: ChatEvent) -> None:
        if isinstance(event, ContactConnected):
            self.user_name = event.contact
            self.connected.set()


class DemoPeers:
    """A start-up hook for the app (``create_app(on_started=[DemoPeers(...)])``)."""

    def __init__(self, root: Path, *, peers: Sequence[PeerScript] = PEERS, speed: float = 1.0,
                 seed: int | None = None) -> None:
        self.root = root
        self.scripts = list(peers)
        self.speed = speed
        self.rng = random.Random(seed)
        self.peers: list[_Peer] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def _sleep(self, low: float, high: float) -> None:
        await asyncio.sleep(self.rng.uniform(low, high) / self.speed)

    async def __call__(self, backend: Backend) -> None:
        user = backend.core
        assert user is not None, "the demo starts after the user's chat core"
        try:
            for script in self.scripts:
                core = ChatCore(self.root / script.name, backend.servers,
                                display_name=script.name)
                peer = _Peer(script, core)
                core.subscribe(peer.on_event)
                await core.start()
                self.peers.append(peer)
                await self._profile(peer)
            for peer in self.peers:
                await self._connect(peer, user)
            for peer in self.peers:
                self._tasks.append(asyncio.create_task(self._live(peer, user)))
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for peer in self.peers:
                with contextlib.suppress(Exception):
                    await peer.core.stop()

    async def _profile(self, peer: _Peer) -> None:
        s = peer.script
        await peer.core.execute(f"/p {s.name} {s.full_name}")
        await peer.core.execute(f"/bio {s.bio}")
        contacts = await peer.core.execute("/contacts")
        if isinstance(contacts, ContactsResponse):
            for c in contacts.contacts:
                if c.status == "connected":
                    peer.user_name = c.name
                    peer.known = True
                    peer.connected.set()

    async def _connect(self, peer: _Peer, user: ChatCore) -> None:
        if peer.connected.is_set():
            return
        if peer.script.via_address:
            marker = self.root / peer.script.name / "requested"
            if marker.exists():
                return  # asked in an earlier run; the request waits in Contacts → Requests
            address = await user.execute("/sa")
            if not isinstance(address, LinkResponse):
                address = await user.execute("/ad")
            if isinstance(address, LinkResponse) and not isinstance(
                    await peer.core.execute(f"/c {address.link}"), ErrorResponse):
                marker.write_text("asked to connect through the user's address\n")
            return
        link = await peer.core.execute("/c")
        if not isinstance(link, LinkResponse):
            log.warning("demo: %s could not make a link: %s", peer.script.name, link)
            return
        response = await user.execute(f"/c {link.link}")
        if isinstance(response, ErrorResponse):
            log.warning("demo: joining %s failed: %s", peer.script.name, response.error)

    async def _live(self, peer: _Peer, user: ChatCore) -> None:
        await peer.connected.wait()
        inbox: asyncio.Queue[ChatEvent] = asyncio.Queue()
        peer.core.subscribe(inbox)
        await self._sleep(0.5, 1.5)
        for line in () if peer.known else peer.script.opening:
            await self._say(peer, line)
            await self._sleep(1.5, 3.0)
        while True:
            try:
                event = await asyncio.wait_for(inbox.get(), self.rng.uniform(12, 30) / self.speed)
            except TimeoutError:
                line = peer.script.chatter[peer.chatter % len(peer.script.chatter)]
                peer.chatter += 1
                await self._say(peer, line)
                continue
            if isinstance(event, GroupInvitationReceived):
                await self._sleep(1.0, 3.0)
                await peer.core.execute(f"/j {event.group}")
            elif isinstance(event, MessageReceived) and event.chat.startswith("#"):
                await self._answer_group(peer, event)
            elif isinstance(event, MessageReceived):
                await self._answer(peer, event)

    async def _say(self, peer: _Peer, text: str) -> None:
        if peer.user_name:
            await peer.core.execute(f"@{peer.user_name} {text}")

    async def _answer_group(self, peer: _Peer, event: MessageReceived) -> None:
        """Answer some of what the user says in a group (not each other: no endless chat)."""
        if event.from_ != peer.user_name or self.rng.random() < 0.4:
            return
        await self._sleep(1.5, 4.0)
        await peer.core.execute(f"{event.chat} {self.rng.choice(peer.script.replies)}")

    async def _answer(self, peer: _Peer, event: MessageReceived) -> None:
        name = peer.user_name or event.from_
        await self._sleep(0.5, 1.2)
        await peer.core.execute(f"/read @{name}")
        if self.rng.random() < 0.4:
            reaction = self.rng.choice(peer.script.reactions)
            await peer.core.execute(f"/react @{name} {event.msg_id} {reaction}")
        await self._sleep(1.0, 2.5)
        reply = self.rng.choice(peer.script.replies)
        await peer.core.execute(f"/reply @{name} {event.msg_id} {reply}")
