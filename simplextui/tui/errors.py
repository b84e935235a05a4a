"""Failed background work becomes a message on screen and a log line, never a crash."""

from __future__ import annotations

import logging
from typing import Any

from textual.worker import Worker, WorkerState

__all__ = ["WorkerErrors"]

log = logging.getLogger("simplextui.tui")


class WorkerErrors:
    """Mixin for widgets and screens: report their workers' failures in a toast."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        log.error("%s failed", event.worker.name, exc_info=error)
        node: Any = self  # a Widget, Screen or App: all of them can notify
        node.notify(f"{type(error).__name__}: {error}", title="Something went wrong",
                    severity="error", markup=False)
