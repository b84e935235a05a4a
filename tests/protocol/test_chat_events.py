"""Chat events codec: round trips, strict parsing with one typed error, forward compatibility."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simplextui.protocol.chat_events import (
    MAX_BODY_BYTES,
    MAX_TEXT_CHARS,
    ChatEventError,
    ChatMessage,
    MsgContent,
    MsgDelete,
    MsgNew,
    MsgReact,
    MsgRead,
    MsgUpdate,
    Profile,
    ProfileInfo,
    Quote,
    UnknownEvent,
    decode_chat_message,
    encode_chat_message,
    new_msg_id,
    parse_msg_id,
)
from simplextui.protocol.errors import ErrorCode, ProtocolError

MID = "AAECAwQFBgcICQoL"  # 12 bytes 0..11


def _doc(event: str, params: object, **extra: object) -> bytes:
    doc = {"v": "1-1", "msgId": MID, "event": event, "params": params, **extra}
    return json.dumps(doc).encode()


def test_msg_id_is_12_random_bytes() -> None:
    ids = {new_msg_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 16 and parse_msg_id(i) == i for i in ids)


@pytest.mark.parametrize("event", [
    ProfileInfo(Profile("alice", "Alice A", "likes tea")),
    ProfileInfo(Profile("bob")),
    MsgNew(MsgContent("hello")),
    MsgNew(MsgContent("yes"), Quote(MID, MsgContent("hello?"), sent=True)),
    MsgUpdate(MID, MsgContent("edited")),
    MsgNew(MsgContent("in a group"), Quote(MID, MsgContent("hi all"), member_id=new_msg_id())),
    MsgDelete(MID),
    MsgDelete(MID, member_id=new_msg_id()),  # an admin's moderation in a group
    MsgReact(MID, "👍"),
    MsgReact(MID, "❤️", add=False),
    MsgRead((MID, new_msg_id())),
])
def test_round_trip(event: object) -> None:
    msg = ChatMessage(new_msg_id(), event)  # type: ignore[arg-type]
    body = encode_chat_message(msg)
    assert decode_chat_message(body) == msg
    doc = json.loads(body)
    assert doc["v"] == "1-1" and doc["msgId"] == msg.msg_id and doc["event"].startswith("x.")


def test_wire_shape_matches_spec() -> None:
    body = encode_chat_message(ChatMessage(MID, MsgNew(MsgContent("hi"))))
    assert json.loads(body) == {"v": "1-1", "msgId": MID, "event": "x.msg.new",
                                "params": {"content": {"type": "text", "text": "hi"}}}
    body = encode_chat_message(ChatMessage(MID, MsgReact(MID, "👍")))
    assert json.loads(body)["params"] == {"msgId": MID, "reaction": "👍", "add": True}


@given(st.text(max_size=200))
def test_any_text_round_trips(text: str) -> None:
    msg = ChatMessage(MID, MsgNew(MsgContent(text)))
    assert decode_chat_message(encode_chat_message(msg)) == msg


def test_unknown_event_is_kept_for_logging() -> None:
    msg = decode_chat_message(_doc("x.future.thing", {"a": 1}))
    assert msg.event == UnknownEvent("x.future.thing", {"a": 1})
    assert msg.event_name == "x.future.thing"


def test_unknown_params_and_newer_versions_are_accepted() -> None:
    body = json.dumps({"v": "1-7", "msgId": MID, "event": "x.msg.new", "future": True,
                       "params": {"content": {"type": "text", "text": "x", "extra": 1},
                                  "mentions": {}}}).encode()
    msg = decode_chat_message(body)
    assert msg.event == MsgNew(MsgContent("x")) and msg.version == (1, 7)


def test_content_type_defaults_to_text() -> None:
    msg = decode_chat_message(_doc("x.msg.new", {"content": {"text": "x"}}))
    assert msg.event == MsgNew(MsgContent("x"))


@pytest.mark.parametrize("body", [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b'"string"',
    b'{"msgId": "AAECAwQFBgcICQoL", "event": "x.msg.new", "params": {}}',  # no v
    b'{"v": "x", "msgId": "AAECAwQFBgcICQoL", "event": "x.msg.new", "params": {}}',
    b'{"v": "2-1", "msgId": "AAECAwQFBgcICQoL", "event": "x.msg.new", "params": {}}',
    b'{"v": "1-1", "event": "x.msg.new", "params": {}}',  # no msgId
    b'{"v": "1-1", "msgId": "short", "event": "x.msg.new", "params": {}}',
    b'{"v": "1-1", "msgId": 5, "event": "x.msg.new", "params": {}}',
    b'{"v": "1-1", "msgId": "AAECAwQFBgcICQoL", "event": 3, "params": {}}',
    b'{"v": "1-1", "msgId": "AAECAwQFBgcICQoL", "event": "", "params": {}}',
    b'{"v": "1-1", "msgId": "AAECAwQFBgcICQoL", "event": "x.msg.new", "params": []}',
])
def test_malformed_envelope_raises_typed_error(body: bytes) -> None:
    with pytest.raises(ChatEventError) as info:
        decode_chat_message(body)
    assert isinstance(info.value, ProtocolError)


@pytest.mark.parametrize(("event", "params"), [
    ("x.msg.new", {}),
    ("x.msg.new", {"content": "hi"}),
    ("x.msg.new", {"content": {"type": "text"}}),
    ("x.msg.new", {"content": {"type": "text", "text": 5}}),
    ("x.msg.new", {"content": {"text": "x" * (MAX_TEXT_CHARS + 1)}}),
    ("x.msg.new", {"content": {"text": "x"}, "quote": {"msgId": "bad", "content": {"text": ""}}}),
    ("x.msg.new", {"content": {"text": "x"}, "quote": {"msgId": MID, "content": {"text": ""},
                                                       "sent": "yes"}}),
    ("x.msg.update", {"content": {"text": "x"}}),
    ("x.msg.update", {"msgId": MID}),
    ("x.msg.del", {}),
    ("x.msg.del", {"msgId": MID, "memberId": "bad"}),
    ("x.msg.new", {"content": {"text": "x"}, "quote": {"msgId": MID, "content": {"text": ""},
                                                       "memberId": 7}}),
    ("x.msg.new", {"content": {"text": "x"}, "quote": {"msgId": MID, "content": {"text": ""},
                                                       "sent": True, "memberId": MID}}),
    ("x.msg.react", {"msgId": MID}),
    ("x.msg.react", {"msgId": MID, "reaction": ""}),
    ("x.msg.react", {"msgId": MID, "reaction": "x" * 17}),
    ("x.msg.react", {"msgId": MID, "reaction": "👍", "add": 1}),
    ("x.msg.read", {"msgIds": []}),
    ("x.msg.read", {"msgIds": "x"}),
    ("x.msg.read", {"msgIds": ["bad"]}),
    ("x.msg.read", {"msgIds": [MID] * 501}),
    ("x.info", {}),
    ("x.msg.new", {"content": {"text": "\ud800 a lone surrogate"}}),
    ("x.info", {"profile": {"displayName": "a\udfff"}}),
    ("x.info", {"profile": {"displayName": ""}}),
    ("x.info", {"profile": {"displayName": "a", "bio": 3}}),
    ("x.info", {"profile": {"displayName": "a" * 65}}),
])
def test_malformed_params_raise_typed_error(event: str, params: object) -> None:
    with pytest.raises(ChatEventError):
        decode_chat_message(_doc(event, params))


def test_version_mismatch_has_version_code() -> None:
    body = json.dumps({"v": "5-9", "msgId": MID, "event": "x.msg.new", "params": {}}).encode()
    with pytest.raises(ChatEventError) as info:
        decode_chat_message(body)
    assert info.value.code is ErrorCode.VERSION


def test_oversize_messages_are_refused_both_ways() -> None:
    with pytest.raises(ChatEventError) as info:
        encode_chat_message(ChatMessage(MID, MsgNew(MsgContent("é" * MAX_TEXT_CHARS))))
    assert info.value.code is ErrorCode.LARGE_MSG
    with pytest.raises(ChatEventError):
        decode_chat_message(b" " * (MAX_BODY_BYTES + 1))
