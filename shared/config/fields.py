"""How a setting is declared: everything said about it sits on its dataclass field, once.

``env(default, help, ...)`` is a field specifier (as ``dataclasses.field`` is): the variable is
the field's name in capitals, the parser follows the field's type, and the bounds, the choices
and the README's row come from the same call. ``load_settings`` reads the environment with it,
``check`` applies the bounds, and ``markdown`` renders the README's configuration table, which a
test compares with the README, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


@dataclass(frozen=True)
class Declared:
    """What a field says of its setting (kept in the field's metadata)."""

    help: str
    section: str
    shown: str | None = None  # the default as people should read it, where the value alone is not
    parse: Callable[[str], Any] | None = None  # unset: from the field's type
    above: float | None = None  # exclusive lower bound
    low: float | None = None  # inclusive bounds
    high: float | None = None
    choices: tuple[str, ...] | None = None


def env(
    default: Any,
    help: str,
    *,
    section: str,
    shown: str | None = None,
    parse: Callable[[str], Any] | None = None,
    positive: bool = False,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A setting read from the environment variable named after the field."""
    declared = Declared(help, section, shown, parse, 0 if positive else None, low, high, choices)
    return field(default=default, metadata={"env": declared})


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the loader, the checks and the table use it."""

    name: str
    variable: str
    default: Any
    type: Any
    declared: Declared

    def parse(self, raw: str) -> Any:
        if self.declared.parse is not None:
            return self.declared.parse(raw)
        parsers: dict[Any, Callable[[str], Any]] = {bool: parse_bool, int: int, float: float}
        return parsers.get(self.type, str)(raw)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is refused, naming the variable; None when it is acceptable."""
        d = self.declared
        if value is None:
            return None
        if d.choices is not None and value not in d.choices:
            return f"{self.variable} must be one of {', '.join(d.choices)}"
        if d.above is not None and not value > d.above:
            bound = "positive" if d.above == 0 else f"above {d.above:g}"
            return f"{self.variable} must be {bound}" + _at_most(d.high)
        if d.low is not None and value < d.low:
            return f"{self.variable} must be at least {d.low:g}" + _at_most(d.high)
        if d.high is not None and value > d.high:
            return f"{self.variable} must be at most {d.high:g}"
        return None


def _at_most(high: float | None) -> str:
    return f" and at most {high:g}" if high is not None else ""


def parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def declared(cls: type) -> Iterator[Setting]:
    """The settings ``cls`` declares with ``env``, in the order of its fields."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if "env" in f.metadata:
            yield Setting(
                f.name, f.name.upper(), f.default, _bare(hints[f.name]), f.metadata["env"]
            )


def _bare(hint: Any) -> Any:
    """``int | None`` -> ``int``: an unset variable is the None."""
    if isinstance(hint, types.UnionType):
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return inner
    return hint


def read(settings: tuple[Setting, ...], environ: Mapping[str, str]) -> dict[str, Any]:
    """The values set in ``environ`` (an empty variable counts as unset), by field name."""
    values = {}
    for setting in settings:
        raw = environ.get(setting.variable)
        if raw is None or raw == "":
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.variable}: {exc}") from exc
    return values


def check(settings: tuple[Setting, ...], values: object) -> None:
    """Refuse the first value outside its declared bounds."""
    for setting in settings:
        problem = setting.problem(getattr(values, setting.name))
        if problem:
            raise ConfigError(problem)


def markdown(settings: tuple[Setting, ...]) -> str:
    """The README's configuration table: one table per section, a row per variable."""
    out: list[str] = []
    for section in dict.fromkeys(s.declared.section for s in settings):
        out += [f"### {section}", "", "| variable | default | meaning |", "|---|---|---|"]
        for s in settings:
            if s.declared.section == section:
                out.append(f"| `{s.variable}` | {_shown(s)} | {s.declared.help} |")
        out.append("")
    return "\n".join(out)


def _shown(setting: Setting) -> str:
    if setting.declared.shown is not None:
        return setting.declared.shown
    value = setting.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`" if isinstance(value, str) else str(value)
