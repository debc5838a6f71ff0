"""Which column plays which role: the one type every path takes.

A spec's ``[data]`` table (:meth:`audit.DataSpec.roles`), the keyword arguments of
:func:`audit.prepare_data` and the engines' counting all describe the columns with
:class:`Roles`; the views a reader needs (role → column, column → role, the roles a result
records) are its methods, not dicts rebuilt by each caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit._exceptions import DataValidationError

if TYPE_CHECKING:
    from audit._result import AuditOptions

__all__ = ["Roles", "check_roles"]


@dataclass(frozen=True)
class Roles:
    """Which column plays which role (the spec's ``[data]`` table), and how to count them.

    Examples
    --------
    >>> roles = Roles("y", "p", ("sex", "race"), y_score="s")
    >>> roles.columns()
    {'y_true': 'y', 'y_pred': 'p', 'y_score': 's', 'sensitive_features[0]': 'sex',
     'sensitive_features[1]': 'race'}
    >>> roles.columns(sensitive=False)
    {'y_true': 'y', 'y_pred': 'p', 'y_score': 's'}
    >>> roles.role_map()
    {'y': 'y_true', 'p': 'y_pred', 's': 'y_score', 'sex': 'sensitive_features[0]',
     'race': 'sensitive_features[1]'}
    """

    y_true: str
    y_pred: str
    sensitive_features: tuple[str, ...]
    y_score: str | None = None
    sample_weight: str | None = None
    pos_label: Any = None
    score_type: str = "probability"
    max_categories: int = 50
    score_bins: int = 10_000
    task: str = "binary_classification"
    regression_bins: int = 8
    #: Strings a CSV file writes for a missing value, besides the empty field.
    missing_values: tuple[str, ...] = ()

    def with_options(self, options: AuditOptions) -> Roles:
        """These columns, read and counted as ``options`` say.

        ``score_type``, ``max_categories``, ``task``, ``score_bins`` and ``regression_bins``
        are options of the audit (a spec's ``[data]`` table gives the first three).
        """
        return dataclasses.replace(
            self,
            score_type=options.score_type,
            max_categories=options.max_categories,
            score_bins=options.score_bins,
            task=options.task,
            regression_bins=options.regression_bins,
        )

    def columns(self, *, sensitive: bool = True) -> dict[str, str]:
        """Each role and the column it names (``sensitive_features[i]`` for each feature).

        Parameters
        ----------
        sensitive : bool
            Include the sensitive features; without them, the roles a result records
            (:attr:`audit.DataSummary.roles`).

        Returns
        -------
        dict of str to str
            In the order ``y_true``, ``y_pred``, ``y_score``, ``sample_weight`` (those given),
            then the sensitive features.
        """
        out = {"y_true": self.y_true, "y_pred": self.y_pred}
        if self.y_score is not None:
            out["y_score"] = self.y_score
        if self.sample_weight is not None:
            out["sample_weight"] = self.sample_weight
        if sensitive:
            for i, feature in enumerate(self.sensitive_features):
                out[f"sensitive_features[{i}]"] = feature
        return out

    def role_map(self) -> dict[str, str]:
        """Each role column and its role (``y_true``, ``sensitive_features[0]``...), for messages.

        A column listed twice among the sensitive features keeps its first role.
        """
        out = {self.y_true: "y_true", self.y_pred: "y_pred"}
        if self.y_score:
            out[self.y_score] = "y_score"
        if self.sample_weight:
            out[self.sample_weight] = "sample_weight"
        for i, f in enumerate(self.sensitive_features):
            out.setdefault(f, f"sensitive_features[{i}]")
        return out

    def check(self) -> None:
        """Refuse a column named for two roles (see :func:`check_roles`).

        Examples
        --------
        >>> Roles("y", "p", ("g", "g")).check()
        Traceback (most recent call last):
        ...
        audit._exceptions.DataValidationError: sensitive_features lists 'g' more than once.
        """
        check_roles(self.columns())

    def repeated_role(self) -> str | None:
        """The role (without its index) that names a column already named, or None.

        Examples
        --------
        >>> Roles("y", "p", ("g", "y")).repeated_role(), Roles("y", "p", ("g",)).repeated_role()
        ('sensitive_features', None)
        """
        seen: set[str] = set()
        for role, column in self.columns().items():
            if column in seen:
                return role.split("[")[0]
            seen.add(column)
        return None


def check_roles(roles: Mapping[str, str]) -> None:
    """Refuse a column named for two roles (sensitive and label, score or weight...).

    Parameters
    ----------
    roles : mapping of str to str
        Each role and its column, as :meth:`Roles.columns` gives them.

    Raises
    ------
    DataValidationError
        Naming the column and both roles.

    Examples
    --------
    >>> check_roles({"y_true": "y", "y_pred": "p", "sensitive_features[0]": "y"})
    Traceback (most recent call last):
    ...
    audit._exceptions.DataValidationError: Column 'y' is named for two roles, y_true and ...
    """
    seen: dict[str, str] = {}
    for role, column in roles.items():
        if column in seen:
            if seen[column].startswith("sensitive") and role.startswith("sensitive"):
                raise DataValidationError(f"sensitive_features lists {column!r} more than once.")
            raise DataValidationError(
                f"Column {column!r} is named for two roles, {seen[column]} and {role}; each "
                "column plays one role."
            )
        seen[column] = role
