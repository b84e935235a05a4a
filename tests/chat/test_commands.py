"""The command parser on its own: every command, its aliases, and bad arguments."""

from __future__ import annotations

import re

import pytest

from simplextui.chat.commands import (
    HELP,
    AcceptRequest,
    ByMsgId,
    ByText,
    CommandError,
    Connect,
    ContactInfo,
    CreateAddress,
    CreateInvitation,
    DeleteAddress,
    DeleteContact,
    DeleteMessage,
    EditMessage,
    Help,
    ListContacts,
    ListRequests,
    MarkRead,
    Quit,
    React,
    RejectRequest,
    Reply,
    SendText,
    SetAutoAccept,
    SetBio,
    SetProfile,
    ShowAddress,
    ShowCode,
    ShowProfile,
    Tail,
    Verify,
    parse_command,
)

MID = "AAECAwQFBgcICQoL"
LINK = "simplextui://i/FP@127.0.0.1:5223/ID#KEY"


@pytest.mark.parametrize(("line", "expected"), [
    ("/c", CreateInvitation()),
    ("/connect", CreateInvitation()),
    (f"/c {LINK}", Connect(LINK)),
    (f"/connect   {LINK}  ", Connect(LINK)),
    ("/ad", CreateAddress()),
    ("/address", CreateAddress()),
    ("/sa", ShowAddress()),
    ("/show_address", ShowAddress()),
    ("/da", DeleteAddress()),
    ("/delete_address", DeleteAddress()),
    ("/auto_accept on", SetAutoAccept(True)),
    ("/auto_accept OFF", SetAutoAccept(False)),
    ("/requests", ListRequests()),
    ("/ac alice", AcceptRequest("alice")),
    ("/accept @alice", AcceptRequest("alice")),
    ("/rc bob_1", RejectRequest("bob_1")),
    ("/reject @bob", RejectRequest("bob")),
    ("@bob hello there", SendText("bob", "hello there")),
    ("@bob   spaced   text  ", SendText("bob", "spaced   text")),
    ("/contacts", ListContacts()),
    ("/cs", ListContacts()),
    ("/tail", Tail(None, 10)),
    ("/tail 5", Tail(None, 5)),
    ("/tail @bob", Tail("bob", 10)),
    ("/tail @bob 100", Tail("bob", 100)),
    ("/p", ShowProfile()),
    ("/profile", ShowProfile()),
    ("/p alice", SetProfile("alice", "")),
    ("/profile alice Alice Liddell", SetProfile("alice", "Alice Liddell")),
    ("/bio", SetBio("")),
    ("/bio likes tea and rabbits", SetBio("likes tea and rabbits")),
    ("/info @bob", ContactInfo("bob")),
    ("/i bob", ContactInfo("bob")),
    ("/code @bob", ShowCode("bob")),
    ("/verify @bob 12345 67890", Verify("bob", "12345 67890")),
    ("/verify @bob", Verify("bob", None)),
    ("/d @bob", DeleteContact("bob")),
    ("/delete @bob", DeleteContact("bob")),
    (f"/delete @bob {MID}", DeleteMessage("bob", ByMsgId(MID))),
    ("/read @bob", MarkRead("bob")),
    ("/help", Help()),
    ("/h", Help()),
    ("/HELP", Help()),
    ("/quit", Quit()),
    ("/q", Quit()),
    # SimpleX-style message forms
    ("> @bob (how are) fine, thanks", Reply("bob", ByText("how are"), "fine, thanks")),
    (">@bob (hi) yes", Reply("bob", ByText("hi"), "yes")),
    ("! @bob (helo) hello", EditMessage("bob", ByText("helo"), "hello")),
    ("!@bob (a b) c (d)", EditMessage("bob", ByText("a b"), "c (d)")),
    ("\\ @bob hello wor", DeleteMessage("bob", ByText("hello wor"))),
    ("\\ @bob (hello)", DeleteMessage("bob", ByText("hello"))),
    ("+1 @bob hi", React("bob", ByText("hi"), "👍")),
    ("++ @bob (hi there)", React("bob", ByText("hi there"), "👍")),
    ("-1 @bob hi", React("bob", ByText("hi"), "👍", add=False)),
    ("+- @bob hi", React("bob", ByText("hi"), "👎")),
    ("+* @bob hi", React("bob", ByText("hi"), "❤️")),
    ("+❤ @bob hi", React("bob", ByText("hi"), "❤️")),
    ("+🚀 @bob hi", React("bob", ByText("hi"), "🚀")),
    # by message id
    (f"/reply @bob {MID} sure", Reply("bob", ByMsgId(MID), "sure")),
    (f"/edit @bob {MID} fixed text", EditMessage("bob", ByMsgId(MID), "fixed text")),
    (f"/react @bob {MID} 👍", React("bob", ByMsgId(MID), "👍")),
    (f"/react @bob {MID} 1", React("bob", ByMsgId(MID), "👍")),
    (f"/unreact @bob {MID} ✅", React("bob", ByMsgId(MID), "✅", add=False)),
])
def test_parses(line: str, expected: object) -> None:
    assert parse_command(line) == expected


@pytest.mark.parametrize(("line", "message"), [
    ("", "empty command"),
    ("   ", "empty command"),
    ("hello", "unknown command"),
    ("/nope", "unknown command /nope"),
    ("/c a b", "usage: /c"),
    ("/ad now", "takes no arguments"),
    ("/contacts x", "takes no arguments"),
    ("/auto_accept", "usage: /auto_accept"),
    ("/auto_accept maybe", "usage: /auto_accept"),
    ("/ac", "usage: /accept"),
    ("/ac a b", "usage: /accept"),
    ("/rc", "usage: /reject"),
    ("@bob", "the message is empty"),
    ("@ hi", "missing contact name"),
    ("@bob " + "x" * 10_001, "longer than"),
    ("/tail 0", "N must be a number"),
    ("/tail x", "N must be a number"),
    ("/tail bob", "not 'bob' (a contact is @NAME)"),
    ("/tail @bob 5 6", "usage: /tail"),
    ("/p @alice", "cannot contain"),
    ("/p +alice", "cannot start"),
    ("/p " + "a" * 65, "longer than 64"),
    ("/bio " + "b" * 501, "bio longer"),
    ("/info", "usage: /info"),
    ("/code", "usage: /code"),
    ("/verify", "usage: /verify"),
    ("/d", "usage: /d"),
    ("/d @a @b", "usage: /d"),
    ("/delete", "usage: /delete"),
    ("/delete @bob notanid", "bad message id"),
    ("/delete @bob a b", "usage: /delete"),
    ("/read", "usage: /read"),
    ("/reply @bob", "usage: /reply"),
    (f"/reply @bob {MID}", "usage: /reply"),
    ("/reply @bob xyz text", "bad message id"),
    ("/edit @bob", "usage: /edit"),
    ("/react @bob", "usage: /react"),
    (f"/react @bob {MID} 🦄", "unsupported reaction"),
    ("> bob (hi) x", "usage: > @NAME"),
    ("> @bob hi x", "usage: > @NAME"),
    ("> @bob (hi x", "missing )"),
    ("> @bob () x", "prefix is empty"),
    ("> @bob (hi)", "the message is empty"),
    ("! @bob (hi)", "the message is empty"),
    ("\\ @bob", "missing message text prefix"),
    ("+1 bob hi", "usage: +R"),
    ("+1 @bob", "missing message text prefix"),
    ("+x @bob hi", "unsupported reaction"),
    ("/help me", "takes no arguments"),
])
def test_rejects(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        parse_command(line)


def test_unknown_command_points_to_help() -> None:
    for line in ("/nope", "hello"):
        with pytest.raises(CommandError, match="/help"):
            parse_command(line)


def test_full_name_after_display_name() -> None:
    assert parse_command("/p al ice") == SetProfile("al", "ice")


def test_help_mentions_every_slash_command() -> None:
    for name in ("/connect", "/address", "/show_address", "/delete_address", "/auto_accept",
                 "/accept", "/reject", "/contacts", "/tail", "/profile", "/info", "/code",
                 "/verify", "/delete", "/read", "/reply", "/edit", "/react", "/help"):
        assert name in HELP
