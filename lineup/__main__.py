"""Entry point for `python -m lineup`."""

import sys

from lineup.cli import main
from lineup.run import run_stoppable

sys.exit(run_stoppable(main))
