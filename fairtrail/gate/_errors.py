"""The gate's error for a malformed policy file."""

from __future__ import annotations

from audit import SpecError

__all__ = ["GatePolicyError"]


class GatePolicyError(SpecError):
    """A gate policy file is malformed; the message starts with ``file:line:``."""
