"""The counting step as SQL: the aggregate queries every SQL engine runs, and their assembly.

An engine (DuckDB, Spark) runs these queries over the predictions; none returns rows:

1. **guard**: the distinct values of the key columns (sensitive features, labels) in the
   first :data:`FIRST_ROWS` rows, and how many; an identifier column is refused here, before
   anything is grouped by it. From files, pyarrow reads those rows in order (no query; a
   Spark table is asked instead), with the first rows' scores;
2. **range** (only for scores that are not probabilities): the smallest and largest finite
   score, the ends of the histogram;
3. **groups**: one ``GROUP BY`` over a single integer key coding each row's cell, labels and
   score bin (see :mod:`audit._engines._keys`), with counts, weight sums (and sums of
   squared weights), score sums, each group's smallest and largest score, and the missing
   values of the other columns. The key codes missing values, and the score's problems (NaN,
   infinite, outside [0, 1]) after the bins, so the totals the checks need come from the
   groups: no scan of their own. DuckDB also lists the scores around the first rows' median;
4. **median** (only with more distinct scores than histogram bins, when the listed scores do
   not hold the median): the scores of the one or two bins holding it, to make it exact.

A value first seen after the first rows sends the ``GROUP BY`` round once more with every
value listed; few distinct scores sharing a bin send it round by value. Listed values the
in-memory path refuses (labels that are not binary, too many categories) are refused before
any grouping, after a **profile** query of totals decides which of its errors comes first.
Everything else happens here, in memory, on the aggregates: the in-memory path's validation
functions, in its order, on the totals and the distinct values, its cell order and its score
bins, so the :class:`~audit._statistics.CellStatistics` equal the in-memory engine's: counts
exactly, sums to rounding; and the errors are its errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from audit._engines._base import (
    Aggregate,
    Counted,
    Dialect,
    Roles,
    SqlSource,
    group_aggregates,
    missing_counts,
    number_columns,
    numbers,
    one,
    role_columns,
    select_groups,
    sum_by,
)
from audit._engines._checks import (
    check_nul,
    check_profile,
    checks_sql,
    label_keys,
    profile_of,
    profile_sql,
    score_range,
    text_roles,
)
from audit._engines._keys import (
    KeyColumn,
    KeySpace,
    dense_cells,
)
from audit._engines._listing import all_listed, all_values, check_identifiers, sensitive_keys
from audit._engines._regression import count_regression
from audit._engines._scores import (
    SCORE_PROBLEMS,
    Located,
    histogram,
    median_window,
    score_code_sql,
)
from audit._exceptions import DataValidationError
from audit._statistics import CellStatistics, equal_width_bins
from audit._validation import check_roles

__all__ = ["Counted", "Dialect", "Roles", "SqlSource", "count_with_sql", "number_columns"]


def count_with_sql(
    src: SqlSource,
    roles: Roles,
    *,
    on_step: Callable[[str], None] | None = None,
) -> Counted:
    """Count the predictions ``src`` holds into cell statistics, with aggregate queries only.

    Raises
    ------
    DataValidationError
        The same error, with the same words, as the in-memory path would raise (rows are
        located by ``src.first_row``).
    """
    say = on_step or (lambda _text: None)
    columns = src.columns()
    names = [c for c, _ in columns]
    wanted = {"y_true": roles.y_true, "y_pred": roles.y_pred}
    if roles.y_score:
        wanted["y_score"] = roles.y_score
    if roles.sample_weight:
        wanted["sample_weight"] = roles.sample_weight
    for i, f in enumerate(roles.sensitive_features):
        wanted[f"sensitive_features[{i}]"] = f
    check_roles(wanted)
    for role, column in wanted.items():
        if column not in names:
            raise DataValidationError(
                f"Column '{column}' ({role}) is not in the data. Columns present: {names}."
            )
    if roles.task == "regression":
        if roles.y_score or roles.pos_label is not None:
            given = "y_score" if roles.y_score else "pos_label"
            raise DataValidationError(
                f"{given} is for binary classification; a regression audit compares y_pred "
                f"with y_true and takes no {given}."
            )
        return count_regression(src, roles, columns, roles.regression_bins, say)
    say("guard: the key columns' values in the first rows")
    head = check_identifiers(src, roles)
    values = head.values
    types = dict(columns)
    d = src.dialect
    # Scores: equal-width bins in SQL, with each group's smallest and largest score: when every
    # bin holds one value, the bins are the distinct values (the in-memory engine's exact bins).
    binning = None
    tail, tail_sql = 1, "0"
    window = None
    extra: list[Aggregate | str] = []
    extremes = True  # each group's smallest and largest score: are the bins the values?
    if roles.y_score:
        lo, hi = 0.0, 1.0
        if roles.score_type != "probability":
            say("range: the scores' smallest and largest finite values")
            lo, hi = score_range(src, roles.y_score)
        binning = equal_width_bins(lo, hi, roles.score_bins)
        tail = binning.ece_bin.size + len(SCORE_PROBLEMS)
        tail_sql = score_code_sql(d, roles.y_score, binning, roles.score_type == "probability")
        window = median_window(d, head.scores, binning)
        if window is not None:
            extra.append(window.list_sql(d, roles))
        # More distinct scores in the first rows than bins: equal-width bins, for certain.
        extremes = head.scores is None or np.unique(head.scores).size <= roles.score_bins
    if roles.sample_weight:
        extra += checks_sql(d, "w", roles.sample_weight)
    for attempt in range(2):
        features, yt_col, yp_col = _listed_keys(src, roles, types, values)
        space = KeySpace((*features, yt_col, yp_col), tail)
        if not space.fits():
            raise DataValidationError(
                f"The sensitive features {list(roles.sensitive_features)} have too many "
                "combinations of values to count by one key; audit fewer features at once."
            )
        say("groups: one GROUP BY over the cells, labels and score bins, with the checks")
        key_sql = space.key_sql(d, tail_sql)
        aggregates = group_aggregates(d, roles, columns, extra, extremes)
        groups = _groups(src, key_sql, aggregates, tail, say)
        positions, codes = space.positions(numbers(groups, "k").astype(np.int64))
        if all_listed(src, space, positions, values, attempt, say):
            break
    # The totals the checks need, from the groups; then the in-memory path's checks, in its
    # order, and the key's final meaning (a sensitive feature's missing values, the labels).
    check_nul(src, roles, values)  # every value is listed now
    profile = profile_of(groups, space, positions, codes, binning, roles)
    if roles.y_score and profile.get("s_outside") and profile["s_min"] is None:
        profile["s_min"], profile["s_max"] = score_range(src, roles.y_score)  # for the message
    yt_col, yp_col, pos, labels = check_profile(src, roles, profile, types, values)
    features, categories = sensitive_keys(roles, profile, types, values)
    space = KeySpace((*features, yt_col, yp_col), tail)
    meanings, key_missing = space.meanings(positions)
    cell, cell_codes, observed = dense_cells(meanings[: len(features)], categories)
    yt, yp = meanings[-2], meanings[-1]
    n_cells = cell_codes.shape[0]
    n = numbers(groups, "n")
    weighted = roles.sample_weight is not None
    w = numbers(groups, "w") if weighted else n
    confusion = cell * 4 + 2 * yt + yp
    count = sum_by(confusion, n, n_cells * 4).round().astype(np.int64)
    weight = sum_by(confusion, w, n_cells * 4) if weighted else count.astype(np.float64)
    weight_sq = None  # Σw²: only weighted audits count it (it equals the counts otherwise)
    if weighted:
        weight_sq = sum_by(confusion, numbers(groups, "w2"), n_cells * 4).reshape(n_cells, 4)
    missing = missing_counts(groups, columns, role_columns(roles), key_missing, cell, n, n_cells)
    scores = None
    if roles.y_score and binning is not None:
        located = Located(features, categories, observed)
        scores = histogram(
            src, roles, groups, binning, codes, cell, yt, n_cells, located, columns, space,
            window, say,
        )  # fmt: skip
    unknown = {
        f: int(profile[f"f{i}_missing"] or 0) for i, f in enumerate(roles.sensitive_features)
    }
    statistics = CellStatistics(
        features=tuple(roles.sensitive_features),
        categories=tuple(categories),
        cells=cell_codes,
        confusion_count=count.reshape(n_cells, 4),
        confusion_weight=weight.reshape(n_cells, 4),
        missing_columns=tuple(c for c, _ in columns),
        missing_count=missing,
        scores=scores,
        weighted=weighted,
        confusion_weight_sq=weight_sq,
    )
    return Counted(statistics, pos, labels, unknown, int(profile["n_rows"]), d.name)


def _groups(
    src: SqlSource,
    key_sql: str,
    aggregates: Sequence[Aggregate | str],
    tail: int,
    say: Callable[[str], None],
) -> pa.Table:
    """The groups: by the engine's dense counter when it has one (Spark), else by SQL.

    The dense counter pays off with many slots per key prefix (the score bins).
    """
    dense = getattr(src, "dense_groups", None)
    if dense is not None and tail > 1:
        table: pa.Table | None = dense(key_sql, aggregates, tail, "groups")
        if table is not None:
            return table
        reason = getattr(src, "dense_refused", None)
        say(f"groups: as SQL, without the dense counter ({reason})")
    return src.query(select_groups(key_sql, (), aggregates), "groups")


def _listed_keys(
    src: SqlSource, roles: Roles, types: dict[str, str], values: dict[str, list[Any]]
) -> tuple[list[KeyColumn], KeyColumn, KeyColumn]:
    """The key columns of the listed values; refused values are refused before any grouping.

    When the in-memory path would refuse the listed values (labels that are not binary, too
    many categories), the totals decide which of its errors comes first, as in that path.
    """
    no_missing = {f"f{i}_missing": 0 for i in range(len(roles.sensitive_features))}
    try:
        yt_col, yp_col, _, _ = label_keys(roles, types, values)
        features, _ = sensitive_keys(roles, no_missing, types, values)
    except DataValidationError:
        for column, _ in text_roles(roles):  # the first error may lie beyond the first rows
            values[column] = all_values(src, column)
        check_nul(src, roles, values)
        profile = one(src.query(profile_sql(src.dialect, roles, types), "profile"))
        check_profile(src, roles, profile, types, values)
        sensitive_keys(roles, profile, types, values)
        raise
    return features, yt_col, yp_col
