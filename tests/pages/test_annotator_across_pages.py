"""The annotator's name typed on one page is still there on the next (Streamlit forgets a
widget's state when a page without it runs)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"


def name_box(at: AppTest) -> str:
    [box] = [t for t in at.sidebar.text_input if t.key == "annotator"]
    return str(box.value)


def test_the_annotators_name_follows_them_from_page_to_page(lineup_home: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    [box] = [t for t in at.sidebar.text_input if t.key == "annotator"]
    box.input("ana").run()
    for page in ["app_pages/studies.py", "app_pages/label_queue.py", "app_pages/compare_voices.py"]:
        at.switch_page(page).run()
        assert not at.exception, page
        assert name_box(at) == "ana", page
    at.switch_page("app_pages/leaderboard.py").run()  # a page without the box
    at.switch_page("app_pages/compare_vlms.py").run()
    assert name_box(at) == "ana"
