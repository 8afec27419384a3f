"""Entry point for `python -m lineup`."""

import sys

from lineup.cli import main

sys.exit(main())
