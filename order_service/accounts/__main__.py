"""``python -m order_service.accounts create-admin [--email E]``: create the admin (or reset its
password) from ``ADMIN_EMAIL`` / ``ADMIN_PASSWORD``."""

from __future__ import annotations

import argparse
import sys

from order_service.accounts import ensure_admin
from order_service.bootstrap import build_accounts
from shared.config import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m order_service.accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create the admin (or reset its password)")
    admin.add_argument("--email", help="default: ADMIN_EMAIL")
    args = parser.parse_args(argv)
    settings = load_settings()
    accounts, engine = build_accounts(settings)
    try:
        user = ensure_admin(accounts, args.email or settings.admin_email, settings.admin_password)
    finally:
        engine.dispose()
    print(f"admin account: {user.email}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
