"""Container health check: ``python -m shared.probe [URL]``, 0 when URL answers 200."""

from __future__ import annotations

import sys
import urllib.request

from shared.config import load_settings


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else f"http://{load_settings().order_bind}/health/live"
    try:
        with urllib.request.urlopen(url.replace("0.0.0.0", "127.0.0.1"), timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
