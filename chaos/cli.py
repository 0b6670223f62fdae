"""``python -m chaos``: turn gremlins on and off in a running inventory service.

Exit codes: 0 done, 1 the service refused (bad gremlin, wrong token, chaos disabled),
2 wrong usage, 3 the inventory service could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import Field
from typing import Any

import requests

from chaos.model import SELECTORS, SETTABLE, Kind, summary
from shared.config import load_settings

EXAMPLES = """examples:
  python -m chaos latency --delay-ms 3000 --every 5 --ttl 300
  python -m chaos error --status 503 --probability 0.2 --seed 7 --after-commit
  python -m chaos crash --every 10 --method PUT --path '/api/v1/reservations/*'
  python -m chaos status
  python -m chaos remove latency
  python -m chaos reset
"""


def _option(parser: Any, name: str, f: Field[Any]) -> None:
    meta, kind = f.metadata, str(f.type)
    value_type = int if kind.startswith("int") else float if kind.startswith("float") else str
    parser.add_argument(
        f"--{meta['flag'] or name.replace('_', '-')}",
        dest=name,
        type=value_type,
        choices=[str(c) for c in meta["choices"]] if meta["choices"] else None,
        metavar=name.split("_")[0].upper() if not meta["choices"] else None,
        help=meta["help"],
    )


def _kind_parser(commands: Any, kind: Kind, help: str) -> None:
    """One subcommand per kind; its options are the gremlin's fields that mean something for it."""
    parser = commands.add_parser(kind.value, help=help)
    selectors = parser.add_mutually_exclusive_group()
    for name, f in SETTABLE.items():
        kinds = f.metadata["kinds"]
        if kinds is not None and kind not in kinds:
            continue
        _option(selectors if name in SELECTORS else parser, name, f)
    if kind is not Kind.CRASH:
        parser.add_argument(
            "--after-commit",
            dest="phase",
            action="store_const",
            const="after",
            help="same as --phase after: do the work and commit it, then misbehave",
        )
    parser.add_argument(
        "--ttl",
        type=int,
        dest="ttl_s",
        metavar="SECONDS",
        help="remove the gremlin by itself after this many seconds",
    )
    parser.add_argument("--name", help="name of the gremlin (default: its kind)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chaos",
        description="Make the inventory service misbehave on purpose.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        help="the service's URL (default: INVENTORY_URL; the payment provider: "
        "http://127.0.0.1:3004)",
    )
    parser.add_argument("--token", help="admin token (default: ADMIN_TOKEN)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("status", help="show the active gremlins and how often they fired")
    _kind_parser(commands, Kind.LATENCY, "delay responses")
    _kind_parser(commands, Kind.ERROR, "answer an error status")
    _kind_parser(commands, Kind.CRASH, "kill the worker after the commit, before the response")
    remove = commands.add_parser("remove", help="remove one gremlin")
    remove.add_argument("name")
    commands.add_parser("reset", help="remove every gremlin")
    return parser


def _body(args: argparse.Namespace) -> dict[str, Any]:
    """The PUT body: the fields the user gave (the service fills in the defaults)."""
    given = {name: getattr(args, name, None) for name in (*SETTABLE, "ttl_s")}
    return {**{k: v for k, v in given.items() if v is not None}, "kind": args.command}


def describe(gremlin: dict[str, Any]) -> str:
    """One line per gremlin, as a person reads it."""
    expires = f", expires {gremlin['expires_at']}" if gremlin.get("expires_at") else ""
    return (
        f"{gremlin['name']:<16} {summary(gremlin)}; "
        f"fired {gremlin['fired']} of {gremlin['matched']} calls{expires}"
    )


def run(argv: Sequence[str] | None = None, out: Any = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    base = (args.url or settings.inventory_url).rstrip("/") + "/chaos"
    headers = {"Authorization": f"Bearer {args.token or settings.admin_token}"}
    try:
        if args.command == "status":
            response = requests.get(base, timeout=5)
        elif args.command == "reset":
            response = requests.delete(base, headers=headers, timeout=5)
        elif args.command == "remove":
            response = requests.delete(f"{base}/{args.name}", headers=headers, timeout=5)
        else:
            name = args.name or args.command
            response = requests.put(f"{base}/{name}", json=_body(args), headers=headers, timeout=5)
    except requests.RequestException as exc:
        print(f"cannot reach the inventory service at {base}: {exc.__class__.__name__}", file=out)
        return 3
    data = response.json()
    if response.status_code >= 400:
        error = data.get("error", {})
        print(
            f"refused ({response.status_code} {error.get('code')}): {error.get('message')}",
            file=out,
        )
        for field, messages in error.get("details", {}).get("fields", {}).items():
            print(f"  {field}: {messages}", file=out)
        return 1
    if "gremlins" in data:
        if not data["enabled"]:
            print("chaos is disabled on this inventory service (CHAOS_ENABLED is off)", file=out)
        elif not data["gremlins"]:
            print("no gremlins active", file=out)
        for gremlin in data["gremlins"]:
            print(describe(gremlin), file=out)
    else:
        print(f"on: {describe(data)}", file=out)
    return 0
