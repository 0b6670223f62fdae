"""``python -m chaos``: see ``chaos.cli``."""

import sys

from chaos.cli import run

sys.exit(run())
