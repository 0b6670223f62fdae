"""Who is calling, by network address: what per-address limits count against.

The peer of the connection is the caller unless it is one of ours:
- a **proxy** in ``TRUSTED_PROXIES`` (HAProxy in front of every layout): its
  ``X-Forwarded-For`` is read from the right, each trusted hop skipped, and the first address
  no trusted proxy would have written is the client. Entries to its left came from the client
  and are never believed; a peer outside the list has its ``X-Forwarded-For`` ignored;
- the **console**, which calls the order API for the person in front of the browser: it names
  that person's address in ``X-Forwarded-Client`` and proves it is the console with
  ``X-Console-Key`` (``CONSOLE_FORWARD_KEY``, a secret only the two share). Without this every
  console user would share the console's address, and ten failed logins from anyone would
  lock out everyone else.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.config import ConfigError

FORWARDED_CLIENT = "X-Forwarded-Client"
CONSOLE_KEY = "X-Console-Key"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(raw: str) -> tuple[_Network, ...]:
    """``TRUSTED_PROXIES``: addresses or CIDR blocks, separated by commas."""
    found = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            found.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_PROXIES: {part!r} is no address or CIDR block") from exc
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _address(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class ClientAddresses:
    proxies: tuple[_Network, ...] = ()
    console_key: str | None = None

    def trusted(self, raw: str) -> bool:
        address = _address(raw)
        return address is not None and any(address in net for net in self.proxies)

    def of(self, environ: Mapping[str, Any]) -> str:
        """The client's address for the request described by the WSGI ``environ``."""
        named = self._named_by_console(environ)
        if named is not None:
            return named
        peer = str(environ.get("REMOTE_ADDR") or "unknown")
        if not self.trusted(peer):
            return peer
        hops = [h.strip() for h in str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
        last = peer
        for hop in reversed([h for h in hops if h]):
            if _address(hop) is None:
                return last  # not an address: nothing left of it can be believed
            if not self.trusted(hop):
                return hop
            last = hop
        return last

    def _named_by_console(self, environ: Mapping[str, Any]) -> str | None:
        key = environ.get("HTTP_X_CONSOLE_KEY")
        named = environ.get("HTTP_X_FORWARDED_CLIENT")
        if not (self.console_key and key and named) or _address(named) is None:
            return None
        if not hmac.compare_digest(str(key).encode(), self.console_key.encode()):
            return None
        return str(named).strip()
