"""Driving the app in Debian's chromium with Playwright: the browser's path and arguments, and
small page helpers the browser tests and bench/ttft.py share (the tests' fixtures are in
tests/browser/conftest.py)."""

from __future__ import annotations

import time
from typing import Any

from lineup.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def open_page(page: Any, address: str) -> None:
    from playwright.sync_api import expect

    page.goto(address)
    # The page is ready once its last input (the models box, after discovery) is drawn.
    expect(page.get_by_role("button", name="Compare")).to_be_visible(timeout=60_000)


def pick_models(page: Any, specs: list[str]) -> None:
    models = page.locator('[data-testid="stMultiSelect"] input')
    for spec in specs:
        models.click()
        models.fill(spec)
        models.press("Enter")
    page.keyboard.press("Escape")
    page.locator("h1").first.click()  # the list of options must not cover the buttons


def wait_for_labels(store: Store, ids: list[int], annotator: str) -> dict[int, str]:
    deadline = time.monotonic() + 15
    while not store.current_labels(ids, annotator) and time.monotonic() < deadline:
        time.sleep(0.2)
    return {gid: label.relevance for gid, label in store.current_labels(ids, annotator).items()}


def settled(page: Any) -> None:
    """Wait for the script run a key started to be over and drawn whole."""
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stApp\"]')"
        "?.getAttribute('data-test-script-state') === 'notRunning'"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=30_000,
    )


# Each whitespace-separated word inside the elements `selector` finds whose letters lie on more
# than one line: a word the browser broke (mid-word, or at a hyphen inside it).
BROKEN_WORDS_JS = """(selector) => {
  const broken = [];
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(Array.from(range.getClientRects())
          .filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


def broken_words(page: Any, selector: str) -> list[str]:
    """The words inside `selector`'s elements that the browser broke across lines."""
    return list(page.evaluate(BROKEN_WORDS_JS, selector))
