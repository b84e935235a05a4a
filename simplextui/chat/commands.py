"""The command language every frontend speaks, close to the SimpleX terminal client's.

``parse_command(line)`` turns one line into one typed command or raises ``CommandError`` with a
message fit to show the user. It is pure: no I/O, no state; the chat core runs the result.

Messages are chosen either by a text prefix (``> @bob (hi) text`` quotes bob's latest message
starting with "hi") or by their shared message id (``/reply @bob MSGID text``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from simplextui.chat.groups.commands import (
    GROUP_HELP,
    DeleteGroupMessage,
    EditGroupMessage,
    GroupCommand,
    ReactGroup,
    ReplyGroup,
    delete_or,
    group_name,
    parse_group_send,
    read_or,
)
from simplextui.chat.groups.commands import register as register_group_commands
from simplextui.chat.names import InvalidName, validate_display_name
from simplextui.chat.refs import ByMsgId, ByText, MsgRef
from simplextui.protocol.chat_events import (
    ALLOWED_REACTIONS,
    MAX_BIO_CHARS,
    MAX_FULL_NAME_CHARS,
    MAX_TEXT_CHARS,
    ChatEventError,
    parse_msg_id,
)

__all__ = [
    "HELP",
    "AcceptRequest",
    "ByMsgId",
    "ByText",
    "CancelPending",
    "Command",
    "CommandError",
    "Connect",
    "ContactInfo",
    "CreateAddress",
    "CreateInvitation",
    "DeleteAddress",
    "DeleteContact",
    "DeleteMessage",
    "EditMessage",
    "Help",
    "ListContacts",
    "ListPending",
    "ListRequests",
    "MarkRead",
    "MsgRef",
    "Quit",
    "React",
    "RejectRequest",
    "Reply",
    "SendText",
    "SetAutoAccept",
    "SetBio",
    "SetProfile",
    "ShowAddress",
    "ShowCode",
    "ShowProfile",
    "Tail",
    "Verify",
    "parse_command",
]

DEFAULT_TAIL = 10
MAX_NAME_CHARS = 80  # a local name (chat_contacts.local_name, chat_contact_requests.local_name)
MAX_TAIL = 10_000
# Single-character shortcuts after + or - (as in SimpleX: "+1 @bob hi" likes bob's "hi...").
REACTION_SHORTCUTS = {"1": "👍", "+": "👍", "-": "👎", ")": "😀", "!": "😂", "(": "😢",
                      "*": "❤️", "^": "🚀", "%": "✅"}


class CommandError(ValueError):
    """The line is not a valid command; the message says why and how to get help."""


# --- message references -------------------------------------------------------------------------


# ``ByText`` (a prefix of the text) or ``ByMsgId``: see :mod:`simplextui.chat.refs`.


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateInvitation:
    """``/c``: a new one-time invitation link."""


@dataclass(frozen=True, slots=True)
class Connect:
    """``/c LINK``: connect by a one-time invitation or a contact address."""

    link: str


@dataclass(frozen=True, slots=True)
class ListPending:
    """``/invitations``: one-time invitations not yet used, requests not yet accepted."""


@dataclass(frozen=True, slots=True)
class CancelPending:
    """``/cancel ID``: delete a pending invitation (its link stops working) or request."""

    pending_id: int


@dataclass(frozen=True, slots=True)
class CreateAddress:
    pass


@dataclass(frozen=True, slots=True)
class ShowAddress:
    pass


@dataclass(frozen=True, slots=True)
class DeleteAddress:
    pass


@dataclass(frozen=True, slots=True)
class SetAutoAccept:
    on: bool


@dataclass(frozen=True, slots=True)
class AcceptRequest:
    name: str


@dataclass(frozen=True, slots=True)
class RejectRequest:
    name: str


@dataclass(frozen=True, slots=True)
class ListRequests:
    pass


@dataclass(frozen=True, slots=True)
class SendText:
    contact: str
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    contact: str
    ref: MsgRef
    text: str


@dataclass(frozen=True, slots=True)
class EditMessage:
    contact: str
    ref: MsgRef
    text: str


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    contact: str
    ref: MsgRef


@dataclass(frozen=True, slots=True)
class React:
    contact: str
    ref: MsgRef
    reaction: str
    add: bool = True


@dataclass(frozen=True, slots=True)
class ListContacts:
    pass


@dataclass(frozen=True, slots=True)
class Tail:
    """The last ``count`` messages of one chat, or of all chats when ``contact`` is None."""

    contact: str | None
    count: int = DEFAULT_TAIL


@dataclass(frozen=True, slots=True)
class ShowProfile:
    pass


@dataclass(frozen=True, slots=True)
class SetProfile:
    display_name: str
    full_name: str | None = None  # None keeps the current full name


@dataclass(frozen=True, slots=True)
class SetBio:
    bio: str


@dataclass(frozen=True, slots=True)
class ContactInfo:
    contact: str


@dataclass(frozen=True, slots=True)
class ShowCode:
    contact: str


@dataclass(frozen=True, slots=True)
class Verify:
    """Compare the safety code; without a code, clear the verified mark."""

    contact: str
    code: str | None


@dataclass(frozen=True, slots=True)
class DeleteContact:
    contact: str


@dataclass(frozen=True, slots=True)
class MarkRead:
    contact: str


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


Command = (
    GroupCommand | CreateInvitation | Connect | ListPending | CancelPending | CreateAddress
    | ShowAddress | DeleteAddress | SetAutoAccept
    | AcceptRequest | RejectRequest | ListRequests | SendText | Reply | EditMessage
    | DeleteMessage | React | ListContacts | Tail | ShowProfile | SetProfile | SetBio
    | ContactInfo | ShowCode | Verify | DeleteContact | MarkRead | Help | Quit
)

HELP = """\
Contacts and connections
  /c, /connect                 create a one-time invitation link
  /c LINK, /connect LINK       connect by an invitation link, a contact address or a group link
  /invitations, /inv           your one-time invitations not used yet and requests not accepted
  /cancel ID                   cancel one of them (its link stops working)
  /ad, /address                create your contact address
  /sa, /show_address           show your contact address
  /da, /delete_address         delete your contact address
  /auto_accept on|off          accept contact requests to your address automatically
  /requests                    list pending contact requests
  /ac NAME, /accept NAME       accept a contact request
  /rc NAME, /reject NAME       reject a contact request
  /contacts, /cs               list contacts
  /info @NAME, /i @NAME        contact details
  /code @NAME                  show the security code of the connection
  /verify @NAME CODE           mark the contact verified if CODE matches (no CODE: unverify)
  /d @NAME, /delete @NAME      delete a contact
Messages
  @NAME TEXT                   send a message
  > @NAME (PREFIX) TEXT        reply to the latest message starting with PREFIX
  ! @NAME (PREFIX) TEXT        edit your latest message starting with PREFIX
  \\ @NAME PREFIX               delete your latest message starting with PREFIX
  +R @NAME PREFIX, -R ...      add or remove reaction R (an emoji, or 1 + - ) ! ( * ^ %)
  /reply @NAME MSGID TEXT      reply to a message by id
  /edit @NAME MSGID TEXT       edit your message by id
  /delete @NAME MSGID          delete your message by id
  /react @NAME MSGID EMOJI     react to a message by id (/unreact to remove)
  /read @NAME                  mark the chat read and send read receipts
  /tail [@NAME] [N]            the last N messages (default 10) of a chat, or of all chats
Profile
  /p, /profile                 show your profile
  /p NAME [FULL NAME]          set your display name (and full name)
  /bio [TEXT]                  set (or clear) your short bio
{groups}
Other
  /help, /h                    this help
  /quit, /q                    exit""".replace("{groups}", GROUP_HELP)

_SPACE = re.compile(r"\s+")


def parse_command(line: str) -> Command:
    """Parse one command line; raise ``CommandError`` when it is not a valid command."""
    text = line.strip()
    if not text:
        raise CommandError("empty command; type /help for the list of commands")
    _check_unicode(text)
    head = text[0]
    if head == "/":
        return _slash(text)
    if head == "#":
        return parse_group_send(text)
    if head == "@":
        contact, rest = _contact_and_rest(text, "@NAME TEXT")
        return SendText(contact, _message_text(rest))
    if head == ">":
        chat, rest = _chat_and_rest(text[1:], "> @NAME|#GROUP (PREFIX) TEXT")
        prefix, reply = _parenthesised(rest, "> @NAME|#GROUP (PREFIX) TEXT")
        return _reply(chat, ByText(prefix), _message_text(reply))
    if head == "!":
        chat, rest = _chat_and_rest(text[1:], "! @NAME|#GROUP (PREFIX) NEW TEXT")
        prefix, new = _parenthesised(rest, "! @NAME|#GROUP (PREFIX) NEW TEXT")
        return _edit(chat, ByText(prefix), _message_text(new))
    if head == "\\":
        chat, rest = _chat_and_rest(text[1:], "\\ @NAME|#GROUP PREFIX")
        return _delete_message(chat, ByText(_bare_prefix(rest, "\\ @NAME|#GROUP PREFIX")))
    if head in "+-" and len(text) > 1 and not text[1].isspace():
        token, _, rest = _split1(text)
        reaction = _reaction(token[1:])
        chat, rest = _chat_and_rest(rest, f"{head}R @NAME|#GROUP PREFIX")
        return _react(chat, ByText(_bare_prefix(rest, f"{head}R @NAME|#GROUP PREFIX")),
                      reaction, head == "+")
    raise CommandError(f"unknown command {_shorten(text)!r}; type /help for the list of commands")


def _check_unicode(text: str) -> None:
    """Refuse a lone surrogate (a JSON request can carry one as ``\\ud800``): no text with
    one can be stored or sent, and it would fail deep inside a command instead of here."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CommandError(f"the command is not valid Unicode: a lone surrogate "
                           f"{text[exc.start]!a} at character {exc.start}") from None


# --- slash commands -----------------------------------------------------------------------------


def _slash(text: str) -> Command:
    name, _, args = _split1(text)
    handler = _SLASH.get(name.lower())
    if handler is None:
        raise CommandError(f"unknown command {name}; type /help for the list of commands")
    return handler(args)


def _no_args(cmd: Command, usage: str) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        if args:
            raise CommandError(f"{usage} takes no arguments")
        return cmd
    return parse


def _connect(args: str) -> Command:
    if not args:
        return CreateInvitation()
    if _SPACE.search(args):
        raise CommandError("usage: /c [LINK] (the link is one word)")
    return Connect(args)


def _cancel(args: str) -> Command:
    token = args.removeprefix(":")
    # at most 15 digits: any row id, a JSON-safe integer (and int() of a huge string fails)
    if not (token.isascii() and token.isdigit() and len(token) <= 15 and int(token) > 0):
        raise CommandError("usage: /cancel ID (a number that /invitations shows)")
    return CancelPending(int(token))


def _auto_accept(args: str) -> Command:
    value = args.lower()
    if value not in ("on", "off"):
        raise CommandError("usage: /auto_accept on|off")
    return SetAutoAccept(value == "on")


def _one_contact(usage: str, make: Callable[[str], Command]) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        if not args or _SPACE.search(args):
            raise CommandError(f"usage: {usage}")
        return make(_contact_name(args))
    return parse


def _tail(args: str) -> Command:
    parts = args.split()
    contact: str | None = None
    if parts and parts[0].startswith(("@", "#")):
        contact = _contact_name(parts.pop(0))
    count = DEFAULT_TAIL
    if parts:
        if parts[0][0].isalpha():  # "/tail bob": a name without its @
            raise CommandError(f"N must be a number from 1 to {MAX_TAIL}, not "
                               f"{_shorten(parts[0])!r} (a contact is @NAME)")
        count = _count(parts.pop(0))
    if parts:
        raise CommandError("usage: /tail [@NAME] [N]")
    return Tail(contact, count)


def _count(token: str) -> int:
    if not token.isdigit() or not 0 < int(token) <= MAX_TAIL:
        raise CommandError(f"N must be a number from 1 to {MAX_TAIL}, not {token!r}")
    return int(token)


def _profile(args: str) -> Command:
    if not args:
        return ShowProfile()
    name, _, full = _split1(args)
    try:
        validate_display_name(name)
    except InvalidName as exc:
        raise CommandError(str(exc)) from exc
    if len(full) > MAX_FULL_NAME_CHARS:
        raise CommandError(f"full name longer than {MAX_FULL_NAME_CHARS} characters")
    return SetProfile(name, full)  # as in SimpleX: no full name given clears it


def _bio(args: str) -> Command:
    if len(args) > MAX_BIO_CHARS:
        raise CommandError(f"bio longer than {MAX_BIO_CHARS} characters")
    return SetBio(args)


def _verify(args: str) -> Command:
    contact, _, code = _split1(args)
    if not contact:
        raise CommandError("usage: /verify @NAME [CODE]")
    return Verify(_contact_name(contact), code or None)


def _delete(args: str) -> Command:
    """``/delete @NAME`` deletes the contact; ``/delete @NAME MSGID`` deletes one message."""
    parts = args.split()
    if len(parts) == 1:
        return DeleteContact(_contact_name(parts[0]))
    if len(parts) == 2:
        return _delete_message(_chat_token(parts[0]), ByMsgId(_msg_id(parts[1])))
    raise CommandError("usage: /delete @NAME (a contact) or /delete @NAME MSGID (a message)")


def _delete_contact(args: str) -> Command:
    if not args or _SPACE.search(args):
        raise CommandError("usage: /d @NAME")
    return DeleteContact(_contact_name(args))


def _by_id_with_text(usage: str, make: Callable[[str, MsgRef, str], Command]
                     ) -> Callable[[str], Command]:
    def parse(args: str) -> Command:
        chat, _, rest = _split1(args)
        msg_id, _, text = _split1(rest)
        if not chat or not msg_id or not text:
            raise CommandError(f"usage: {usage}")
        return make(_chat_token(chat), ByMsgId(_msg_id(msg_id)), _message_text(text))
    return parse


def _react_by_id(add: bool) -> Callable[[str], Command]:
    usage = f"/{'react' if add else 'unreact'} @NAME|#GROUP MSGID EMOJI"

    def parse(args: str) -> Command:
        parts = args.split()
        if len(parts) != 3:
            raise CommandError(f"usage: {usage}")
        return _react(_chat_token(parts[0]), ByMsgId(_msg_id(parts[1])), _reaction(parts[2]),
                      add)
    return parse


# Commands on one message, of a contact's chat (@NAME) or of a group (#GROUP).


def _reply(chat: str, ref: MsgRef, text: str) -> Command:
    if chat.startswith("#"):
        return ReplyGroup(group_name(chat), ref, text)
    return Reply(_contact_name(chat), ref, text)


def _edit(chat: str, ref: MsgRef, text: str) -> Command:
    if chat.startswith("#"):
        return EditGroupMessage(group_name(chat), ref, text)
    return EditMessage(_contact_name(chat), ref, text)


def _delete_message(chat: str, ref: MsgRef) -> Command:
    if chat.startswith("#"):
        return DeleteGroupMessage(group_name(chat), ref)
    return DeleteMessage(_contact_name(chat), ref)


def _react(chat: str, ref: MsgRef, reaction: str, add: bool) -> Command:
    if chat.startswith("#"):
        return ReactGroup(group_name(chat), ref, reaction, add)
    return React(_contact_name(chat), ref, reaction, add=add)


_SLASH: dict[str, Callable[[str], Command]] = {}


def _register(names: tuple[str, ...], handler: Callable[[str], Command]) -> None:
    for name in names:
        _SLASH[name] = handler


_register(("/c", "/connect"), _connect)
_register(("/invitations", "/inv"), _no_args(ListPending(), "/invitations"))
_register(("/cancel",), _cancel)
_register(("/ad", "/address"), _no_args(CreateAddress(), "/address"))
_register(("/sa", "/show_address"), _no_args(ShowAddress(), "/show_address"))
_register(("/da", "/delete_address"), _no_args(DeleteAddress(), "/delete_address"))
_register(("/auto_accept",), _auto_accept)
_register(("/requests",), _no_args(ListRequests(), "/requests"))
_register(("/ac", "/accept"), _one_contact("/accept NAME", AcceptRequest))
_register(("/rc", "/reject"), _one_contact("/reject NAME", RejectRequest))
_register(("/contacts", "/cs"), _no_args(ListContacts(), "/contacts"))
_register(("/tail",), _tail)
_register(("/p", "/profile"), _profile)
_register(("/bio",), _bio)
_register(("/info", "/i"), _one_contact("/info @NAME", ContactInfo))
_register(("/code",), _one_contact("/code @NAME", ShowCode))
_register(("/verify",), _verify)
_register(("/d",), delete_or(_delete_contact))  # type: ignore[arg-type]
_register(("/delete",), delete_or(_delete))  # type: ignore[arg-type]
register_group_commands(_register)
_register(("/read",), read_or(_one_contact("/read @NAME", MarkRead)))  # type: ignore[arg-type]
_register(("/reply",), _by_id_with_text("/reply @NAME|#GROUP MSGID TEXT", _reply))
_register(("/edit",), _by_id_with_text("/edit @NAME|#GROUP MSGID TEXT", _edit))
_register(("/react",), _react_by_id(True))
_register(("/unreact",), _react_by_id(False))
_register(("/help", "/h"), _no_args(Help(), "/help"))
_register(("/quit", "/q"), _no_args(Quit(), "/quit"))


# --- pieces -----------------------------------------------------------------------------------


def _split1(text: str) -> tuple[str, str, str]:
    """``(first word, separator, rest)`` with the rest's surrounding whitespace removed."""
    parts = _SPACE.split(text.strip(), maxsplit=1)
    if len(parts) == 1:
        return parts[0], "", ""
    return parts[0], " ", parts[1].strip()


def _contact_name(token: str) -> str:
    if token.startswith("#"):
        raise CommandError(f"{_shorten(token)} is a group; this command takes a contact "
                           "(@NAME)")
    name = token[1:] if token.startswith("@") else token
    if not name:
        raise CommandError("missing contact name after @")
    if len(name) > MAX_NAME_CHARS:
        raise CommandError(f"no contact is called {_shorten(token)!r}: names are at most "
                           f"{MAX_NAME_CHARS} characters")
    return name


def _chat_token(token: str) -> str:
    """``@NAME`` (or a bare NAME: a contact) or ``#GROUP``, checked, with its sigil."""
    if token.startswith("#"):
        return "#" + group_name(token)
    return "@" + _contact_name(token)


def _chat_and_rest(text: str, usage: str) -> tuple[str, str]:
    token, _, rest = _split1(text)
    if not token.startswith(("@", "#")):
        raise CommandError(f"usage: {usage}")
    return _chat_token(token), rest


def _contact_and_rest(text: str, usage: str) -> tuple[str, str]:
    token, _, rest = _split1(text)
    if not token.startswith("@"):
        raise CommandError(f"usage: {usage}")
    return _contact_name(token), rest


def _parenthesised(text: str, usage: str) -> tuple[str, str]:
    """Split ``(prefix) rest``; the prefix ends at the first ``)``."""
    if not text.startswith("("):
        raise CommandError(f"usage: {usage}")
    end = text.find(")")
    if end < 0:
        raise CommandError(f"missing ) after the quoted prefix; usage: {usage}")
    prefix = text[1:end]
    if not prefix:
        raise CommandError("the quoted prefix is empty")
    return prefix, text[end + 1:].strip()


def _bare_prefix(text: str, usage: str) -> str:
    """A text prefix that may optionally be written in parentheses."""
    if text.startswith("(") and text.endswith(")") and len(text) > 2:
        text = text[1:-1]
    if not text:
        raise CommandError(f"missing message text prefix; usage: {usage}")
    return text


def _message_text(text: str) -> str:
    if not text:
        raise CommandError("the message is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise CommandError(f"the message is longer than {MAX_TEXT_CHARS} characters")
    return text


def _msg_id(token: str) -> str:
    try:
        return parse_msg_id(token)
    except ChatEventError as exc:
        raise CommandError(f"bad message id {_shorten(token)!r} (expected 16 base64url "
                           "characters)") from exc


def _reaction(token: str) -> str:
    reaction = REACTION_SHORTCUTS.get(token, token)
    if reaction not in ALLOWED_REACTIONS and reaction + "\ufe0f" not in ALLOWED_REACTIONS:
        raise CommandError(f"unsupported reaction {_shorten(token)!r}; use one of "
                           f"{' '.join(ALLOWED_REACTIONS)} or a shortcut "
                           f"{' '.join(REACTION_SHORTCUTS)}")
    return reaction if reaction in ALLOWED_REACTIONS else reaction + "\ufe0f"


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
