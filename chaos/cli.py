"""``python -m chaos``: turn gremlins on and off in a running inventory service.

Exit codes: 0 done, 1 the service refused (bad gremlin, wrong token, chaos disabled),
2 wrong usage, 3 the inventory service could not be reached.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import requests

from shared.config import load_settings

EXAMPLES = """examples:
  python -m chaos latency --delay-ms 3000 --every 5 --ttl 300
  python -m chaos error --status 503 --probability 0.2 --seed 7 --after-commit
  python -m chaos crash --every 10 --method PUT --path '/api/v1/reservations/*'
  python -m chaos status
  python -m chaos remove latency
  python -m chaos reset
"""


def _selectors(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--every",
        type=int,
        metavar="N",
        dest="every_nth",
        help="fire on every N-th matching call (counted across all workers)",
    )
    group.add_argument(
        "--probability",
        type=float,
        metavar="P",
        help="fire on a fraction P (0..1] of matching calls, reproducible by --seed",
    )
    group.add_argument(
        "--next",
        type=int,
        metavar="K",
        dest="fail_next",
        help="fire on the next K matching calls, then stop",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --probability (default 0)")
    parser.add_argument("--method", help="only calls with this HTTP method, e.g. PUT")
    parser.add_argument(
        "--path",
        default="/api/v1/*",
        help="only paths matching this glob (default /api/v1/*), e.g. '/api/v1/reservations/*'",
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
    parser.add_argument("--url", help="inventory service URL (default: INVENTORY_URL)")
    parser.add_argument("--token", help="admin token (default: ADMIN_TOKEN)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("status", help="show the active gremlins and how often they fired")

    latency = commands.add_parser("latency", help="delay responses")
    latency.add_argument("--delay-ms", type=int, required=True, help="delay in milliseconds")
    latency.add_argument("--jitter-ms", type=int, default=0, help="extra random delay, 0..J ms")
    latency.add_argument(
        "--after-commit",
        action="store_true",
        help="delay after the work is done instead of before it",
    )
    _selectors(latency)

    error = commands.add_parser("error", help="answer an error status")
    error.add_argument("--status", type=int, default=503, help="HTTP status (default 503)")
    error.add_argument(
        "--after-commit",
        action="store_true",
        help="do the work and commit it, then answer the error anyway",
    )
    _selectors(error)

    crash = commands.add_parser(
        "crash", help="kill the worker after the commit, before the response"
    )
    _selectors(crash)

    remove = commands.add_parser("remove", help="remove one gremlin")
    remove.add_argument("name")
    commands.add_parser("reset", help="remove every gremlin")
    return parser


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": args.command, "path": args.path}
    for option in ("every_nth", "probability", "fail_next", "method", "ttl_s"):
        if getattr(args, option) is not None:
            body[option] = getattr(args, option)
    if args.probability is not None:
        body["seed"] = args.seed
    if args.command == "latency":
        body.update(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms)
    if args.command == "error":
        body["status"] = args.status
    if args.command in ("latency", "error"):
        body["phase"] = "after" if args.after_commit else "before"
    return body


def describe(gremlin: dict[str, Any]) -> str:
    """One line per gremlin, as a person reads it."""
    effect = {
        "latency": f"delay {gremlin.get('delay_ms')} ms (+0..{gremlin.get('jitter_ms')} ms)",
        "error": f"answer {gremlin.get('status')}",
        "crash": "kill the worker",
    }[gremlin["kind"]]
    when = "after the commit" if gremlin["phase"] == "after" else "before the work"
    selector = ", ".join(f"{k}={v}" for k, v in gremlin["selector"].items())
    scope = f"{gremlin.get('method') or 'any'} {gremlin['path']}"
    expires = f", expires {gremlin['expires_at']}" if gremlin.get("expires_at") else ""
    return (
        f"{gremlin['name']:<16} {effect} {when}; {selector}; on {scope}; "
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
