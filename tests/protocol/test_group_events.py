"""Group events (``x.grp.*``): round trips and strict parsing of the fields slices 4 added."""

from __future__ import annotations

import json

import pytest

from simplextui.protocol.chat_events import (
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgNew,
    Profile,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import (
    MAX_INTRODUCED,
    GroupRole,
    MemberInfo,
    MemberNew,
    MsgForward,
    new_member_id,
)


def _round(event: object) -> object:
    return decode_chat_message(encode_chat_message(ChatMessage(new_msg_id(), event))).event


def _info() -> MemberInfo:
    return MemberInfo(new_member_id(), GroupRole.MEMBER, Profile("bob"))


def test_member_new_carries_whom_the_member_is_introduced_to() -> None:
    ids = (new_member_id(), new_member_id())
    event = MemberNew(_info(), ids)
    assert _round(event) == event
    plain = MemberNew(_info())
    assert _round(plain) == plain  # older senders: not told
    body = json.loads(encode_chat_message(ChatMessage(new_msg_id(), plain)))
    assert "introducedTo" not in body["params"]
    empty = MemberNew(_info(), ())
    assert _round(empty) == empty


@pytest.mark.parametrize("bad", ["notalist", [1], ["short"], ["x" * 16] * (MAX_INTRODUCED + 1)])
def test_member_new_refuses_bad_lists(bad: object) -> None:
    body = json.loads(encode_chat_message(ChatMessage(new_msg_id(), MemberNew(_info()))))
    body["params"]["introducedTo"] = bad
    with pytest.raises(ChatEventError):
        decode_chat_message(json.dumps(body).encode())


def test_history_forward_round_trip_and_flag() -> None:
    inner = ChatMessage(new_msg_id(), MsgNew(MsgContent("old news")))
    event = MsgForward(new_member_id(), "carol", 1_700_000_000_000, inner, history=True)
    assert _round(event) == event
    live = MsgForward(new_member_id(), "carol", 5, inner)
    assert _round(live) == live and not live.history
    body = json.loads(encode_chat_message(ChatMessage(new_msg_id(), event)))
    assert body["params"]["history"] is True
    body["params"]["history"] = "yes"
    with pytest.raises(ChatEventError):
        decode_chat_message(json.dumps(body).encode())
