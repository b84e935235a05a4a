"""Settings of one queue server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DAY = 86_400.0


@dataclass(slots=True)
class ServerConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    db_url: str | None = None  # default: SQLite file server.db in data_dir
    message_ttl: float = 21 * DAY  # seconds a message waits for its recipient
    expiry_interval: float = 60.0  # seconds between sweeps of expired messages and sessions
    queue_quota: int = 128  # messages a queue holds before senders get QUOTA
    ping_interval: float = 15.0  # stream keep-alive
    session_idle_ttl: float = 3_600.0  # a session with no stream and no request is dropped
    max_session_transmissions: int = 1_000_000  # then the client must open a new session
    pending_cache_bytes: int = 64 * 1024 * 1024  # message bodies kept in memory for delivery

    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'server.db'}"
