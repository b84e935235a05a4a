"""Wire additions of the group integrity revision: the envelope's ``seq``, ``x.msg.react``'s
``memberId`` and ``x.grp.mem.info``'s ``seqBefore``; strict on what they hold, absent by
default (older clients neither send nor read them)."""

from __future__ import annotations

import json

import pytest

from simplextui.protocol.chat_events import (
    MAX_SEQ,
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgNew,
    MsgReact,
    Profile,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
)
from simplextui.protocol.group_events import MemberSelf, MsgForward, new_member_id

MID = new_msg_id()


def _with(doc_changes: dict[str, object], event: object = None) -> bytes:
    doc = json.loads(encode_chat_message(ChatMessage(MID, event or MsgNew(MsgContent("hi")))))
    doc.update(doc_changes)
    return json.dumps(doc).encode()


def test_seq_round_trips_and_is_absent_by_default() -> None:
    plain = ChatMessage(MID, MsgNew(MsgContent("hi")))
    assert b'"seq"' not in encode_chat_message(plain)
    assert decode_chat_message(encode_chat_message(plain)).seq is None
    for seq in (0, 1, MAX_SEQ):
        numbered = ChatMessage(MID, MsgNew(MsgContent("hi")), seq=seq)
        assert decode_chat_message(encode_chat_message(numbered)) == numbered


@pytest.mark.parametrize("bad", [-1, MAX_SEQ + 1, True, "3", 1.5, [1]])
def test_a_bad_seq_is_refused(bad: object) -> None:
    with pytest.raises(ChatEventError, match="seq"):
        decode_chat_message(_with({"seq": bad}))


def test_a_forward_carries_the_authors_seq() -> None:
    inner = ChatMessage(MID, MsgNew(MsgContent("hi")), seq=7)
    fwd = ChatMessage(new_msg_id(), MsgForward(new_member_id(), "bob", 1, inner))
    decoded = decode_chat_message(encode_chat_message(fwd)).event
    assert isinstance(decoded, MsgForward) and decoded.msg.seq == 7


def test_react_names_the_author_in_groups() -> None:
    author = new_member_id()
    for event in (MsgReact(MID, "👍", True, author), MsgReact(MID, "👍")):
        message = ChatMessage(new_msg_id(), event)
        assert decode_chat_message(encode_chat_message(message)).event == event
    with pytest.raises(ChatEventError, match="memberId"):
        decode_chat_message(_with({"params": {"msgId": MID, "reaction": "x", "memberId": 5}},
                                  MsgReact(MID, "x")))


def test_member_info_tells_the_bound() -> None:
    for bound in (None, 0, 12):
        info = MemberSelf(new_member_id(), Profile("bob"), seq_before=bound)
        decoded = decode_chat_message(encode_chat_message(ChatMessage(MID, info))).event
        assert decoded == info
    body = _with({"event": "x.grp.mem.info", "params": {
        "memberId": new_member_id(), "profile": {"displayName": "bob"}, "seqBefore": -2}})
    with pytest.raises(ChatEventError, match="seqBefore"):
        decode_chat_message(body)
