"""Reading a TOML file so that errors can name the line: tomllib keeps no positions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit import TomlLines as Lines
from fairtrail.gate._errors import GatePolicyError

__all__ = ["Lines", "Reader"]


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
