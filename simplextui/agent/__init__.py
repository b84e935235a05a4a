"""Layer 5: encrypted duplex connections over pairs of queues.

:class:`Agent` is the API of the chat core; events come back through ``on_event`` (see
:mod:`simplextui.agent.events`). The wire formats are in :mod:`simplextui.protocol.agent`
and :mod:`simplextui.protocol.links`, documented in ``docs/agent-protocol.md``.
"""

from simplextui.agent.addresses import MAX_APP_DATA, AddressInfo
from simplextui.agent.agent import MAX_INFO_SIZE, MAX_MESSAGE_SIZE, Agent
from simplextui.agent.config import AgentConfig
from simplextui.agent.errors import (
    AddressNotFound,
    AgentError,
    ConnectionNotFound,
    ConnectionNotReady,
    LinkGone,
)
from simplextui.agent.events import (
    AgentConnectionError,
    AgentEvent,
    Connected,
    ConnectionDeleted,
    ConnectionError,
    ConnectionRequest,
    DeliveryReceipt,
    IntegrityKind,
    IntegrityStatus,
    MessageReceived,
    MessageSent,
)

__all__ = [
    "MAX_APP_DATA",
    "MAX_INFO_SIZE",
    "MAX_MESSAGE_SIZE",
    "AddressInfo",
    "AddressNotFound",
    "Agent",
    "AgentConfig",
    "AgentConnectionError",
    "AgentError",
    "AgentEvent",
    "Connected",
    "ConnectionDeleted",
    "ConnectionError",
    "ConnectionNotFound",
    "ConnectionNotReady",
    "ConnectionRequest",
    "DeliveryReceipt",
    "IntegrityKind",
    "IntegrityStatus",
    "LinkGone",
    "MessageReceived",
    "MessageSent",
]
