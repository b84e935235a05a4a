"""How a command names an earlier message: by a prefix of its text, or by its shared id."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ByMsgId", "ByText", "MsgRef"]


@dataclass(frozen=True, slots=True)
class ByText:
    """The latest matching message whose text starts with ``prefix``."""

    prefix: str


@dataclass(frozen=True, slots=True)
class ByMsgId:
    msg_id: str


MsgRef = ByText | ByMsgId
