"""Small text formatting shared by widgets: times, days, delivery marks, previews."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from simplextui.store.chat_models import ItemStatus

__all__ = ["day_label", "local_time", "preview", "short_time", "status_mark"]

STATUS_MARKS = {
    ItemStatus.PENDING: "◷",  # in the outbox
    ItemStatus.SENT: "✓",  # the server has it
    ItemStatus.DELIVERED: "✓✓",  # the contact's device has it
    ItemStatus.READ: "✓✓",  # read (drawn in the read colour)
}


def local_time(ts_ms: int, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=tz)


def day_label(day: date, today: date) -> str:
    delta = (today - day).days
    if delta == 0:
        return "Today"
    if delta == 1:
        return "Yesterday"
    if 1 < delta < 7:
        return day.strftime("%A")
    if day.year == today.year:
        return day.strftime("%a %-d %B")
    return day.strftime("%a %-d %B %Y")


def short_time(ts_ms: int, now: datetime) -> str:
    """For the chat list: a time today, a weekday this week, else a date."""
    when = local_time(ts_ms, now.tzinfo)
    delta = (now.date() - when.date()).days
    if delta == 0:
        return when.strftime("%H:%M")
    if 0 < delta < 7:
        return when.strftime("%a")
    if when.year == now.year:
        return when.strftime("%-d %b")
    return when.strftime("%d.%m.%y")


def status_mark(status: str) -> str:
    try:
        return STATUS_MARKS.get(ItemStatus(status), "")
    except ValueError:
        return ""


def preview(text: str, limit: int = 60) -> str:
    """One line of ``text``: newlines as spaces, cut with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
