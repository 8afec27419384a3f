"""Live figures in Chromium: a slow model's column shows its rate changing as it speeds up, and
a column whose server pauses for 6 s shows "stalled", then recovers; the final figures replace
the live ones. The screenshots go to docs/screenshots/live-*.png (1400 px wide)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from testbed.browser import open_page, pick_models
from testbed.ollama_server import FakeModel

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
RATE = re.compile(r"now ([0-9.]+) chunks/s")
COUNT = re.compile(r"· (\d+) chunks? ·")
# Slow, then fast: 6 words 1 s apart, then 40 words 0.15 s apart.
SPEEDING = FakeModel(
    "speeding:latest", [f"s{i}" for i in range(47)], gaps_s=[1.0] * 6 + [0.15] * 40
)
# 8 words 0.3 s apart, a 6 s pause, then 20 more 0.3 s apart.
PAUSING = FakeModel(
    "pausing:latest", [f"p{i}" for i in range(30)], gaps_s=[0.3] * 8 + [6.0], delay_s=0.3
)

# Live captions wider than their column (cut off or spilling into the next one).
OVERFLOWING_JS = """() => Array.from(
  document.querySelectorAll('[data-testid="stCaptionContainer"]'))
  .filter((c) => c.scrollWidth > c.clientWidth + 1).map((c) => c.innerText)"""


def live_caption(column: Any) -> str:
    return (
        column.locator('[data-testid="stCaptionContainer"]').filter(has_text="chunk").inner_text()
    )


def test_live_rate_changes_and_a_paused_server_stalls_then_recovers(
    app_server: Any, chromium: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with app_server(tmp_path / "home", [SPEEDING, PAUSING]) as (url, _, _):
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        open_page(page, url)
        page.get_by_role("textbox", name="Question", exact=True).fill("Count slowly.")
        pick_models(page, ["ollama:speeding:latest", "ollama:pausing:latest"])
        page.get_by_role("button", name="Compare").click()

        columns = page.locator('[data-testid="stColumn"]')
        speeding = columns.filter(has_text="s2 s3")
        pausing = columns.filter(has_text="p2 p3")
        expect(speeding.get_by_text(re.compile(r"now [0-9.]+ chunks/s"))).to_be_visible(
            timeout=60_000
        )
        slow_rate = float(RATE.search(live_caption(speeding)).group(1))
        page.screenshot(path=str(SHOTS / "live-streaming.png"))
        assert page.evaluate(OVERFLOWING_JS) == []

        # The paused server: "stalled" after 5 s without a chunk.
        expect(pausing.get_by_text("stalled: nothing for")).to_be_visible(timeout=30_000)
        stalled_at = int(COUNT.search(live_caption(pausing)).group(1))
        assert stalled_at == 9  # the 9 words before the pause
        # Meanwhile the speeding model went from a word a second to about 6 a second.
        fast_rate = float(RATE.search(live_caption(speeding)).group(1))
        page.screenshot(path=str(SHOTS / "live-stalled.png"))
        assert page.evaluate(OVERFLOWING_JS) == []
        assert fast_rate > slow_rate + 2, (slow_rate, fast_rate)

        # The chunks resume: the sign clears while the answer still streams.
        deadline = time.monotonic() + 30
        while True:
            caption = live_caption(pausing)
            count = int(COUNT.search(caption).group(1))
            if count > stalled_at + 2:
                break
            assert time.monotonic() < deadline, caption
            time.sleep(0.1)
        assert "stalled" not in caption
        page.screenshot(path=str(SHOTS / "live-recovered.png"))

        # Done: the final figures replace the live ones.
        expect(page.get_by_role("button", name="Compare")).to_be_enabled(timeout=60_000)
        expect(pausing.get_by_text(re.compile(r"^TTFT .* tok/s"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"chunks/s"))).to_have_count(0)
        page.screenshot(path=str(SHOTS / "live-done.png"))
