"""The study report names models by their short names (lineup.model_names), distinct even
when two specs share one, with the full spec in a tooltip and in the setup table."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lineup.cli.main import main
from lineup.store.database import Store
from tests.builders import SHORT, SPECS, build_long_specs


class Tables(HTMLParser):
    """Every table of an HTML page: rows of cells, each cell its text and its title."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self._id: str | None = None
        self._count = 0
        self._cell: list[str] | None = None
        self._title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self._count += 1
            self._id = found.get("id") or f"table-{self._count}"
            self.tables[self._id] = []
        elif tag == "tr" and self._id is not None:
            self.tables[self._id].append([])
        elif tag in ("td", "th") and self._id is not None:
            self._cell, self._title = [], found.get("title")
        elif self._cell is not None and found.get("title") and self._title is None:
            self._title = found.get("title")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._id is not None:
            text = " ".join("".join(self._cell).split())
            self.tables[self._id][-1].append((text, self._title))
            self._cell = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_report(store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "report.html"
    study_id = build_long_specs(store)
    assert main(["study", "report", str(study_id), "--format", "html", "--out", str(path)]) == 0
    capsys.readouterr()
    return path.read_text(encoding="utf-8")


def charts(text: str) -> list[tuple[list[dict], dict]]:
    """The data and the layout of every plotly chart in the report, read from the arguments of
    its Plotly.newPlot call."""
    decoder = json.JSONDecoder()
    found = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', text):
        data, end = decoder.raw_decode(text, call.end())
        layout, _ = decoder.raw_decode(text, text.index("{", end))
        found.append((data, layout))
    assert found, "no chart found"
    return found


def test_the_report_charts_label_models_by_distinct_short_names(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = charts(html_report(store, tmp_path, capsys))
    # % relevant only: the study has two items, and below MIN_ITEMS (5) there is no
    # Bradley-Terry rating to chart (before issue 17 the ratings' chart came second).
    assert len(found) == 1
    for data, layout in found:
        [trace] = data
        assert sorted(trace["y"]) == sorted(SHORT)
        # The full spec is there on hover.
        assert sorted(trace["hovertext"]) == sorted(SPECS)
        # The names are laid out beside the plot, not cut by a fixed margin.
        assert layout["yaxis"]["automargin"] is True


def test_the_report_tables_show_short_names_with_the_full_spec_as_tooltip(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = Tables()
    parser.feed(html_report(store, tmp_path, capsys))
    relevance = parser.tables["relevance-table"]
    assert [row[0] for row in relevance[1:]] == [
        (name, spec) for name, spec in zip(SHORT, SPECS, strict=True)
    ]


def test_the_report_setup_table_names_each_model_and_its_full_spec(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = Tables()
    parser.feed(html_report(store, tmp_path, capsys))
    setup = parser.tables["models-table"]
    assert [[text for text, _ in row] for row in setup] == [
        ["Name", "Spec"],
        *([name, spec] for name, spec in zip(SHORT, SPECS, strict=True)),
    ]
