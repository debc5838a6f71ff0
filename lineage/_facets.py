"""fairtrail's custom OpenLineage facets, and the standard facets built from a DataFrame.

Custom facets are keyed ``fairtrail_<name>``; each has a JSON Schema shipped in this package
(``lineage/spec/facets/<version>/<Name>.json``) whose ``$id`` is versioned. The URLs under
:data:`FAIRTRAIL_SPEC_PREFIX` are identifiers: :class:`~lineage.SchemaStore` resolves them to
the shipped copies, offline.

OpenLineage's serialiser drops ``None`` everywhere (also inside lists), so nothing here is
ever ``None``: a group of rows whose feature is missing has no ``value`` and ``missing: true``,
and an undefined number is left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attr
import numpy as np
import pandas as pd
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_metrics_dataset,
    schema_dataset,
)

__all__ = [
    "FAIRTRAIL_SPEC_PREFIX",
    "SPEC_DIR",
    "AuditResultDatasetFacet",
    "ContentDigestDatasetFacet",
    "GroupCompositionDatasetFacet",
    "StepEffectRunFacet",
    "columns_schema_facet",
    "counts_quality_facet",
    "plain",
]

#: The URL prefix of fairtrail's facet schemas; resolved offline to :data:`SPEC_DIR`.
FAIRTRAIL_SPEC_PREFIX = "https://fairtrail.invalid/spec/"
#: The folder of fairtrail's facet schemas, shipped inside the package.
SPEC_DIR = Path(__file__).parent / "spec"
_FACETS_VERSION = "1-0-0"


def _schema(name: str, version: str = _FACETS_VERSION) -> str:
    """The ``_schemaURL`` of a facet: ``<prefix>facets/<version>/<Name>.json#/$defs/<Name>``.

    A facet's schema changes version when fields are added; the older files stay shipped, so
    that events recorded earlier still validate against the schema they name.
    """
    return f"{FAIRTRAIL_SPEC_PREFIX}facets/{version}/{name}.json#/$defs/{name}"


def plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and NaN/inf/None left out.

    OpenLineage's serialiser writes numpy scalars as ``"<<non-serializable…>>"`` strings and
    NaN as the invalid JSON token ``NaN``; every facet fairtrail builds goes through this.

    Examples
    --------
    >>> import numpy as np
    >>> plain({"a": np.int32(3), "b": [np.float32(0.5), float("nan")], "c": None})
    {'a': 3, 'b': [0.5]}
    """
    if isinstance(value, Mapping):
        out = {str(k): plain(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [v for v in (plain(x) for x in value) if v is not None]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


@attr.define
class GroupCompositionDatasetFacet(DatasetFacet):
    """Rows per group of each sensitive feature and per intersectional cell."""

    sensitiveFeatures: list[str]
    rowCount: int
    groups: list[dict[str, Any]]
    absentFeatures: list[str] | None = attr.field(default=None)
    cells: list[dict[str, Any]] | None = attr.field(default=None)
    cellsTruncated: bool | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema("GroupCompositionDatasetFacet")


@attr.define
class StepEffectRunFacet(RunFacet):
    """Rows in and out of a preparation step per group, and the groups it treated unevenly."""

    step: str
    rowsIn: int
    outputs: list[dict[str, Any]]
    tolerance: float
    minGroupSize: int
    significanceLevel: float
    groups: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    flagged: bool

    @staticmethod
    def _get_schema() -> str:
        return _schema("StepEffectRunFacet")


@attr.define
class ContentDigestDatasetFacet(DatasetFacet):
    """The sha256 of a dataset's file bytes, of its rows in canonical form, or of its file list.

    Schema version 1-1-0 added ``fileListSha256``, ``fileListAlgorithm`` and ``files``: the
    digest of a list of files (names, sizes, modification times, Parquet footers) for inputs
    counted out of core, whose bytes are not read (see :func:`~lineage.file_list_digest`).
    """

    rowDigest: str | None = attr.field(default=None)
    rowDigestAlgorithm: str | None = attr.field(default=None)
    fileSha256: str | None = attr.field(default=None)
    bytes: int | None = attr.field(default=None)
    objectSha256: str | None = attr.field(default=None)
    objectType: str | None = attr.field(default=None)
    fileListSha256: str | None = attr.field(default=None)
    fileListAlgorithm: str | None = attr.field(default=None)
    files: int | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema("ContentDigestDatasetFacet", "1-1-0")


@attr.define
class AuditResultDatasetFacet(DatasetFacet):
    """The headline verdicts of an audit, on the dataset that holds its result."""

    auditId: str
    status: str
    criteria: list[dict[str, Any]]
    policyName: str | None = attr.field(default=None)
    policyVersion: str | None = attr.field(default=None)
    task: str | None = attr.field(default=None)
    rowCount: int | None = attr.field(default=None)
    sensitiveFeatures: list[str] | None = attr.field(default=None)
    resultSha256: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return _schema("AuditResultDatasetFacet")


# --- standard facets built from a frame -------------------------------------------------------


def _type_name(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return f"category[{dtype.categories.dtype}]"
    return str(dtype)


def schema_facet(frame: pd.DataFrame) -> schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet: each column's name and pandas dtype."""
    return schema_dataset.SchemaDatasetFacet(
        fields=[
            schema_dataset.SchemaDatasetFacetFields(name=str(c), type=_type_name(frame[c].dtype))
            for c in frame.columns
        ]
    )


def columns_schema_facet(
    columns: Sequence[tuple[str, str | None]],
) -> schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet from ``(name, type)`` pairs; a type of None is left out.

    For inputs whose rows are not read: the names are the engine's, the types the file's own
    (Parquet) where known. OpenLineage's schema requires a field's name, not its type.

    Examples
    --------
    >>> facet = columns_schema_facet([("sex", "string"), ("score", None)])
    >>> [(f.name, f.type) for f in facet.fields]
    [('sex', 'string'), ('score', None)]
    """
    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns]
    )


def counts_quality_facet(
    rows: int, null_counts: Mapping[str, int], *, size: int | None = None
) -> data_quality_metrics_dataset.DataQualityMetricsDatasetFacet:
    """The ``dataQualityMetrics`` facet from counts alone: rows, bytes, per column nulls.

    Each column gets ``nullCount`` and ``count`` (its non-missing values), as
    :func:`quality_facet` gives them for a frame; distinct counts, minimum, maximum and sum
    need the rows and are left out.

    Examples
    --------
    >>> facet = counts_quality_facet(10, {"sex": 2, "y": 0}, size=512)
    >>> facet.rowCount, facet.bytes, facet.columnMetrics["sex"].nullCount
    (10, 512, 2)
    >>> facet.columnMetrics["sex"].count
    8.0
    """
    metrics = {
        str(c): data_quality_metrics_dataset.ColumnMetrics(
            nullCount=int(n), count=float(int(rows) - int(n))
        )
        for c, n in null_counts.items()
    }
    return data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
        columnMetrics=metrics, rowCount=int(rows), bytes=None if size is None else int(size)
    )


def _distinct_count(series: pd.Series) -> int:
    """Distinct non-missing values; numpy numbers by sorting (several times faster than hashing)."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        values = series.to_numpy()
        if values.dtype.kind == "f":
            values = values[~np.isnan(values)]
        return int(np.unique(values).size)
    return int(series.nunique(dropna=True))


def quality_facet(
    frame: pd.DataFrame, *, size: int | None = None
) -> data_quality_metrics_dataset.DataQualityMetricsDatasetFacet:
    """The ``dataQualityMetrics`` facet: rows, bytes, and per column nulls, distincts, min, max."""
    metrics: dict[str, data_quality_metrics_dataset.ColumnMetrics] = {}
    for c in frame.columns:
        series = frame[c]
        nulls = int(series.isna().sum())
        values: dict[str, Any] = {
            "nullCount": nulls,
            "distinctCount": _distinct_count(series),
            "count": float(len(series) - nulls),
        }
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            finite = numbers[np.isfinite(numbers)]
            if finite.size:
                values.update(min=float(finite.min()), max=float(finite.max()))
                values["sum"] = float(finite.sum())
        metrics[str(c)] = data_quality_metrics_dataset.ColumnMetrics(**plain(values))
    return data_quality_metrics_dataset.DataQualityMetricsDatasetFacet(
        columnMetrics=metrics, rowCount=len(frame), bytes=size
    )


def column_lineage_facet(
    output: pd.DataFrame,
    inputs: Sequence[tuple[str, str, pd.DataFrame]],
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """The ``columnLineage`` facet where it is known: same-named columns of the inputs.

    A column of ``output`` that has a same-named column in an input is derived from it.
    When the output's rows are a subset of the input's (index labels kept, unique), or as
    many rows in the same positions, the values are compared: equal values are an
    ``IDENTITY``, different ones a ``TRANSFORMATION``. When rows cannot be matched (fewer rows
    and the index was reset) the relation is a ``TRANSFORMATION`` described as unverified.
    Columns with no same-named input column are left out (not known).
    """
    fields: dict[str, column_lineage_dataset.Fields] = {}
    for column in output.columns:
        sources = []
        for namespace, name, frame in inputs:
            if column not in frame.columns:
                continue
            subtype, description = _compare_column(output, frame, column)
            sources.append(
                column_lineage_dataset.InputField(
                    namespace=namespace,
                    name=name,
                    field=str(column),
                    transformations=[
                        column_lineage_dataset.Transformation(
                            type="DIRECT", subtype=subtype, description=description
                        )
                    ],
                )
            )
        if sources:
            fields[str(column)] = column_lineage_dataset.Fields(inputFields=sources)
    if not fields:
        return None
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields)


def _compare_column(output: pd.DataFrame, source: pd.DataFrame, column: Any) -> tuple[str, str]:
    out, src = output[column], source[column]
    aligned: pd.Series | None
    if out.index.equals(src.index):
        aligned = src
    elif src.index.is_unique and out.index.isin(src.index).all():
        aligned = src.loc[out.index]
    elif len(out) == len(src):
        aligned = src  # the same number of rows, re-labelled: compare by position
    else:
        aligned = None
    if aligned is None:
        return "TRANSFORMATION", "same-named column; rows could not be matched to verify values"
    same = out.dtype == aligned.dtype and out.reset_index(drop=True).equals(
        aligned.reset_index(drop=True)
    )
    if same:
        return "IDENTITY", "values unchanged on the rows kept"
    return "TRANSFORMATION", (
        "values or type differ from the input's rows with the same index labels "
        "(changed by the step, or rows re-labelled)"
    )
