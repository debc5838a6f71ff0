"""Reading a TOML file so that errors can name the line: tomllib keeps no positions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fairtrail.gate._errors import GatePolicyError

__all__ = ["Lines", "Reader"]


class Lines:
    """Where each key of a TOML text is written: ``("criterion", 1, "threshold") → line``.

    tomllib keeps no positions; this reads the text once, following ``[table]`` and
    ``[[array]]`` headers, so that errors can name the line a reader has to fix.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-]+)\s*=""")

    def __init__(self, text: str) -> None:
        self.at: dict[tuple[str | int, ...], int] = {}
        counts: dict[str, int] = {}
        table: tuple[str | int, ...] = ()
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:  # inside a multi-line string
                if line.count(fence) % 2 == 1:
                    fence = None
                continue
            header = self._HEADER.match(line)
            if header:
                name = header.group(2).strip().strip("\"'")
                if header.group(1) == "[[":
                    counts[name] = counts.get(name, 0) + 1
                    table = (name, counts[name] - 1)
                else:
                    table = tuple(name.split("."))
                self.at.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.at.setdefault((*table, key.group(1).strip("\"'")), number)
                rest = line[key.end() :]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        fence = quote

    def line(self, *path: str | int) -> int:
        """The line of ``path`` or of the nearest enclosing table (0 when unknown)."""
        while path:
            if path in self.at:
                return self.at[path]
            path = path[:-1]
        return 0


class Reader:
    """Checks values of one table, raising :class:`GatePolicyError` at the right line."""

    def __init__(self, name: str, lines: Lines) -> None:
        self.name = name
        self.lines = lines

    def fail(self, path: tuple[str | int, ...], message: str) -> GatePolicyError:
        return GatePolicyError(f"{self.name}:{self.lines.line(*path)}: {message}")

    @staticmethod
    def label(path: tuple[str | int, ...]) -> str:
        out = ""
        for part in path:
            out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def keys(self, table: Any, allowed: set[str], path: tuple[str | int, ...]) -> dict[str, Any]:
        if not isinstance(table, dict):
            raise self.fail(path, f"{self.label(path)} must be a table; got {table!r}.")
        for key in table:
            if key not in allowed:
                where = self.label((*path, key))
                raise self.fail(
                    (*path, key), f"unknown key '{where}'; allowed keys: {sorted(allowed)}."
                )
        return table

    def string(self, table: Mapping[str, Any], key: str, path: tuple[str | int, ...]) -> str:
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                (*path, key),
                f"{self.label((*path, key))} must be a non-empty string; got {value!r}.",
            )
        return value

    def choice(
        self,
        table: Mapping[str, Any],
        key: str,
        path: tuple[str | int, ...],
        allowed: tuple[str, ...],
        default: str | None,
    ) -> Any:
        if key not in table:
            return default
        value = table[key]
        if value not in allowed:
            raise self.fail(
                (*path, key),
                f"{self.label((*path, key))} must be one of {list(allowed)}; got {value!r}.",
            )
        return value

    def required(
        self, table: Mapping[str, Any], keys: tuple[str, ...], path: tuple[Any, ...]
    ) -> None:
        for key in keys:
            if key not in table:
                raise self.fail(path, f"{self.label(path)} needs '{key}'.")

    def array(self, raw: Mapping[str, Any], key: str) -> list[Any]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise self.fail(
                (key,), f"'{key}' must be an array of tables ([[{key}]] sections); got {value!r}."
            )
        return value
