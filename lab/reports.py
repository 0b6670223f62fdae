"""What the laboratory's written reports share: the commit measured, and the targets table."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from typing import Any

from lab.processes import ROOT


def commit() -> str:
    """The short commit of the code measured, marked when that code has uncommitted changes
    (documents edited during a run do not change what was measured)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, text=True, capture_output=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return ""
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs")
    return (git("rev-parse", "--short", "HEAD") or "unknown") + (
        " with uncommitted changes" if changed else ""
    )


def targets_table(targets: Iterable[dict[str, Any]]) -> list[str]:
    """Markdown rows: figure, value, target, met."""
    return [
        "| figure | value | target | met |",
        "|---|---|---|---|",
        *(
            f"| {t['figure']} | {t['value']} | {t['target']} | {'yes' if t['met'] else 'NO'} |"
            for t in targets
        ),
    ]
