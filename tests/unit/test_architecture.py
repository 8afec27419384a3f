"""The import graph drawn into docs/architecture.png: every arrow between packages points down
the layers pyproject.toml declares, and the picture names every package of the code."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_drawn_graph_has_every_package_and_only_downward_arrows() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/draw_architecture.py", "--dot-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    packages = sorted(path.parent.name for path in (ROOT / "lineup").glob("*/__init__.py"))
    for name in packages:
        assert f'"lineup.{name}"' in done.stdout, name
    for box in ("app_pages", "components", "backends"):
        assert f'"{box}"' in done.stdout
    assert '"lineup.app" -> "lineup.report";' in done.stdout
    assert '"lineup.store" -> "lineup.app"' not in done.stdout
