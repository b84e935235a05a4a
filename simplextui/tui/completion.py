"""Tab completion for the composer: command names and contact (or request) names.

``Completer.complete`` is called with the text before the cursor; pressing Tab again cycles
through the other candidates for the same word. Command names are read from the chat core's
help text, so new commands complete without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from simplextui.chat.commands import HELP

__all__ = ["COMMAND_NAMES", "Completer", "Completion"]

COMMAND_NAMES: tuple[str, ...] = tuple(sorted(set(re.findall(r"(?:^\s+|, |\()(/[a-z_]+)", HELP,
                                                             re.MULTILINE))))
_REQUEST_COMMANDS = ("/ac", "/accept", "/rc", "/reject")


@dataclass(frozen=True, slots=True)
class Completion:
    text: str  # the new text before the cursor
    candidates: tuple[str, ...]


class Completer:
    def __init__(self, contacts: Callable[[], Sequence[str]],
                 requests: Callable[[], Sequence[str]] = tuple) -> None:
        self._contacts = contacts
        self._requests = requests
        self._cycle: tuple[str, str, tuple[str, ...], int] | None = None  # head, typed, cands, i

    def reset(self) -> None:
        self._cycle = None

    def complete(self, before: str) -> Completion | None:
        """Complete the word that ends at the cursor; None if nothing matches."""
        if self._cycle is not None:
            head, typed, candidates, index = self._cycle
            if before == head + candidates[index] + self._suffix(candidates[index]):
                index = (index + 1) % len(candidates)
                self._cycle = (head, typed, candidates, index)
                chosen = candidates[index]
                return Completion(head + chosen + self._suffix(chosen), candidates)
        self._cycle = None
        match = re.search(r"(\S*)$", before)
        word = match.group(1) if match else ""
        head = before[: len(before) - len(word)]
        candidates = self._candidates(head, word)
        if not candidates:
            return None
        self._cycle = (head, word, candidates, 0)
        chosen = candidates[0]
        return Completion(head + chosen + self._suffix(chosen), candidates)

    @staticmethod
    def _suffix(candidate: str) -> str:
        return " "

    def _candidates(self, head: str, word: str) -> tuple[str, ...]:
        if not head.strip() and word.startswith("/"):
            return tuple(c for c in COMMAND_NAMES if c.startswith(word.lower()))
        if word.startswith("@"):
            prefix = word[1:].lower()
            return tuple(f"@{n}" for n in sorted(self._contacts(), key=str.lower)
                         if n.lower().startswith(prefix))
        first = head.split()[0].lower() if head.split() else ""
        if first in _REQUEST_COMMANDS and len(head.split()) == 1:
            return tuple(n for n in sorted(self._requests(), key=str.lower)
                         if n.lower().startswith(word.lower()))
        return ()
