"""SVG screenshots of the app for the README: every main screen, and the main screen in every
theme of ours, made by the app itself on the sample data (offline: no server, no network).

    python scripts/screenshots.py [--out screenshots] [--size 120x36] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Input, TextArea

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from simplextui.tui.app import SimplexApp, create_app  # noqa: E402
from simplextui.tui.clock import FixedClock, counter_ids  # noqa: E402
from simplextui.tui.sample import (  # noqa: E402
    SAMPLE_GROUPS,
    SAMPLE_SERVER,
    sample_agent_factory,
    sample_group_link,
    seed_sample,
)
from simplextui.tui.screens.group_link import GroupLinkDialog  # noqa: E402
from simplextui.tui.settings import Settings  # noqa: E402
from simplextui.tui.themes import BUNDLED_THEMES_DIR, load_themes  # noqa: E402

CLOCK = FixedClock(datetime(2025, 6, 3, 15, 30, tzinfo=UTC))
Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def settle(pilot: Pilot[Any]) -> None:
    app = pilot.app
    for _ in range(40):
        await app.workers.wait_for_complete()
        await pilot.pause(0.03)
        if not [w for w in app.workers if w.is_running]:
            break
    await pilot.pause(0.1)
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


async def nothing(pilot: Pilot[Any]) -> None:
    await settle(pilot)


def keys(*pressed: str) -> Steps:
    async def steps(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*pressed)
        await settle(pilot)
    return steps


async def contacts_with_qr(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    pilot.app.screen.query_one("#create-link", Button).press()
    await settle(pilot)


async def requests(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    app: SimplexApp = pilot.app  # type: ignore[assignment]
    app.action_contacts("requests")
    await settle(pilot)


async def group_info(pilot: Pilot[Any]) -> None:
    await keys("ctrl+f", *"teaparty", "enter")(pilot)
    await pilot.press("f4")
    await settle(pilot)


async def group_link(pilot: Pilot[Any]) -> None:
    await group_info(pilot)
    pilot.app.push_screen(GroupLinkDialog("teaparty", sample_group_link(), "member"))
    await settle(pilot)


async def new_group(pilot: Pilot[Any]) -> None:
    await keys("ctrl+g", *"garden", "enter", *"Roses and tea", "tab", "tab", "space", "tab",
               "tab", "space")(pilot)


GROUP_SCREENS: dict[str, Steps] = {  # on the sample data with its groups
    "group-chat": keys("ctrl+f", *"teaparty", "enter"),
    "group-info": group_info,
    "group-link": group_link,
    "new-group": new_group,
}

SCREENS: dict[str, Steps] = {
    "main": nothing,
    "reply": keys("escape", "up", "up", "up", "r", *"Sounds good"),
    "contacts-qr": contacts_with_qr,
    "requests": requests,
    "contact-info": keys("f4"),
    "settings": keys("f3"),
    "help": keys("f1"),
    "palette": keys("ctrl+p", *"open"),
}


async def shoot(out: Path, name: str, steps: Steps, size: tuple[int, int], theme: str,
                seed: bool = True, groups: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        if seed:
            await seed_sample(data, CLOCK.ms(), ids=counter_ids("s"),
                              groups=SAMPLE_GROUPS if groups else ())
        app = create_app(data, [SAMPLE_SERVER], clock=CLOCK, ids=counter_ids("t"),
                         settings=Settings(theme=theme), agent_factory=sample_agent_factory,
                         blink=False)
        async with app.run_test(size=size) as pilot:
            await steps(pilot)
            path = app.save_screenshot(filename=f"{name}.svg", path=str(out))
        print(path)


async def main(out: Path, size: tuple[int, int], only: set[str]) -> None:
    def wanted(name: str) -> bool:
        return not only or name in only

    for name, steps in SCREENS.items():
        if wanted(name):
            await shoot(out, name, steps, size, "simplex-dark")
    for name, steps in GROUP_SCREENS.items():
        if wanted(name):
            await shoot(out, name, steps, size, "simplex-dark", groups=True)
    if wanted("onboarding"):
        await shoot(out, "onboarding", nothing, size, "simplex-dark", seed=False)
    for theme in load_themes([BUNDLED_THEMES_DIR]).themes:
        if wanted(f"theme-{theme.name}"):
            await shoot(out, f"theme-{theme.name}", nothing, size, theme.name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--size", default="120x36", help="columns x lines")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME",
                        help="only these screenshots (e.g. group-chat help)")
    args = parser.parse_args()
    columns, lines = (int(n) for n in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(args.out, (columns, lines), set(args.only)))
