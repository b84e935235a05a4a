"""The app with a chat of 100,000 messages: time to open it, time to scroll a page, memory.

    python -m benchmarks.tui [--messages N] [--rounds R]

Everything runs in this process on real SQLite (the sample data plus N messages written through
the store) with the real app, headless at 120x36. Results are ratios against opening an empty
chat in the same run, because the machines are noisy: a chat that is paged from the database
should open about as fast as an empty one and hold about as much memory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.geometry import Region

from simplextui.chat.core import DB_FILE
from simplextui.store.db import open_database
from simplextui.tui.app import SimplexApp, create_app
from simplextui.tui.clock import FixedClock, counter_ids
from simplextui.tui.data import ChatData
from simplextui.tui.sample import (
    SAMPLE_CONTACTS,
    SAMPLE_SERVER,
    SampleContact,
    bulk_messages,
    sample_agent_factory,
    seed_sample,
)
from simplextui.tui.screens.main import MainScreen
from simplextui.tui.settings import ChatSettings, Settings
from simplextui.tui.widgets.conversation import Conversation

SIZE = (120, 36)
BIG, EMPTY = "alice", "erin"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def until(check: Callable[[], bool], pause: Callable[[], Awaitable[None]]) -> None:
    while not check():
        await pause()


async def open_chat(app: SimplexApp, name: str) -> float:
    """Seconds from asking for the chat to its first screen of lines drawn."""
    main = app.screen_stack[0]
    assert isinstance(main, MainScreen)
    conversation = main.query_one(Conversation)
    start = time.perf_counter()
    main.open_chat(name)
    await until(lambda: conversation.chat_name == name and not conversation._loading
                and conversation.hint != "Loading…", lambda: asyncio.sleep(0))
    region = conversation.scrollable_content_region
    conversation.render_lines(Region(0, 0, region.width, region.height))
    return time.perf_counter() - start


async def scroll_page(app: SimplexApp) -> float:
    """Seconds to move one page up and draw it (reading the next page if it needs one)."""
    conversation = app.screen_stack[0].query_one(Conversation)
    region = conversation.scrollable_content_region
    start = time.perf_counter()
    conversation.scroll_to(y=max(0, conversation.scroll_y - region.height), animate=False,
                           force=True)
    await until(lambda: not conversation._loading, lambda: asyncio.sleep(0))
    conversation.render_lines(Region(0, 0, region.width, region.height))
    return time.perf_counter() - start


async def chat_list(root: Path, rounds: int) -> float:
    """Median seconds to read the chat list (unread counts, last messages), which the app
    does whenever a message arrives."""
    db = await open_database(root / DB_FILE)
    try:
        data = ChatData(db)
        await data.chats()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            await data.chats()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        await db.close()


async def run(messages: int, rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="simplextui-bench-"))
    clock = FixedClock(datetime(2025, 6, 3, 15, 30, tzinfo=UTC))
    contacts = (*SAMPLE_CONTACTS, SampleContact(EMPTY, "Erin Empty"))
    await seed_sample(root, clock.ms(), contacts=contacts, requests=False)
    start = time.perf_counter()
    await bulk_messages(root, BIG, messages, clock.ms())
    print(f"wrote {messages:,} messages in {time.perf_counter() - start:.1f} s")
    small = Path(tempfile.mkdtemp(prefix="simplextui-bench-"))
    await seed_sample(small, clock.ms(), contacts=contacts, requests=False)
    list_small, list_big = await chat_list(small, 5 * rounds), await chat_list(root, 5 * rounds)

    app = create_app(root, [SAMPLE_SERVER], clock=clock, ids=counter_ids("t"),
                     settings=Settings(chat=ChatSettings(mark_read=False)),
                     agent_factory=sample_agent_factory, blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.started, pilot.pause)
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        opens_empty, opens_big, scrolls = [], [], []
        for _ in range(rounds):
            opens_empty.append(await open_chat(app, EMPTY))
            await pilot.pause()
            opens_big.append(await open_chat(app, BIG))
            await pilot.pause()
        for _ in range(rounds):
            await open_chat(app, BIG)
            for _ in range(10):
                scrolls.append(await scroll_page(app))
            await pilot.pause()

        # memory: the app with the empty chat open, then with the big one (python heap + RSS)
        gc.collect()
        tracemalloc.start()
        await open_chat(app, EMPTY)
        await pilot.pause()
        gc.collect()
        heap_empty, rss_empty = tracemalloc.get_traced_memory()[0], rss_bytes()
        await open_chat(app, BIG)
        for _ in range(10):
            await scroll_page(app)
        await pilot.pause()
        gc.collect()
        heap_big, rss_big = tracemalloc.get_traced_memory()[0], rss_bytes()
        tracemalloc.stop()
        conversation = app.screen_stack[0].query_one(Conversation)
        loaded = len(conversation.items)

    empty = statistics.median(opens_empty)
    big = statistics.median(opens_big)
    page = statistics.median(scrolls)
    print(f"open an empty chat:            {empty * 1000:8.1f} ms (median of {rounds})")
    print(f"open a chat of {messages:>7,} msgs:   {big * 1000:8.1f} ms   "
          f"= {big / empty:.2f}x the empty chat")
    print(f"scroll one page up:            {page * 1000:8.1f} ms   = {page / empty:.2f}x "
          f"(max {max(scrolls) * 1000:.1f} ms over {len(scrolls)} pages, pages read as needed)")
    print(f"read the chat list:            {list_big * 1000:8.1f} ms   = "
          f"{list_big / list_small:.2f}x the list without the {messages:,} messages")
    print(f"messages held in memory:       {loaded:8d} of {messages:,}")
    print(f"python heap, big chat open:    {heap_big / 2**20:8.1f} MiB   "
          f"= +{(heap_big - heap_empty) / 2**20:.2f} MiB over the empty chat")
    print(f"process RSS, big chat open:    {rss_big / 2**20:8.1f} MiB   "
          f"= {rss_big / rss_empty:.3f}x the RSS with the empty chat open")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.rounds))


if __name__ == "__main__":
    main()
