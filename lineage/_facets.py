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
import pyarrow as pa
from openlineage.client.facet_v2 import (
    DatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_metrics_dataset,
    schema_dataset,
)

from lineage._values import (
    ARROW_OR_PANDAS_ERRORS,
    arrow_type,
    canonical_text,
    column_at,
    is_nested,
    missing_mask,
    number_kind,
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


def _arrow_fields(arrow: pa.DataType) -> list[schema_dataset.SchemaDatasetFacetFields]:
    """The nested ``fields`` of a column of Arrow type ``arrow``, named as Arrow names them.

    A struct's or union's fields; a list's element (``item``, or ``element`` as Parquet
    names it); a map's ``key`` and ``value``; for a dictionary those of its value type, for
    an extension type those of its storage type. Other types have none.
    """
    if isinstance(arrow, pa.DictionaryType):
        return _arrow_fields(arrow.value_type)
    if isinstance(arrow, pa.ExtensionType):
        return _arrow_fields(arrow.storage_type)
    if isinstance(arrow, pa.MapType):
        children = [arrow.key_field, arrow.item_field]
    elif pa.types.is_struct(arrow) or pa.types.is_union(arrow):
        children = [arrow.field(i) for i in range(arrow.num_fields)]
    elif isinstance(getattr(arrow, "value_field", None), pa.Field):  # every kind of list
        children = [arrow.value_field]
    else:
        return []
    return [_arrow_field(str(child.name), child.type) for child in children]


def _arrow_field(name: str, arrow: pa.DataType | None) -> schema_dataset.SchemaDatasetFacetFields:
    if arrow is None:
        return schema_dataset.SchemaDatasetFacetFields(name=name)
    return schema_dataset.SchemaDatasetFacetFields(
        name=name, type=str(arrow), fields=_arrow_fields(arrow)
    )


def _column_type(
    series: pd.Series, known: pa.DataType | None = None
) -> tuple[str, pa.DataType | None]:
    """A column's type as the schema facet names it, and its Arrow type for nested fields.

    The pandas dtype (``int64``, ``str``, ``category[str]``, ``struct<a: int64>[pyarrow]``),
    except for ``object`` columns: those are named by ``known`` (the file's type) or else by
    the Arrow type of their values (``struct<…>``, ``list<…>``, ``binary``,
    ``decimal128(…)``, ``date32[day]``, ``null`` when every value is missing), and
    ``object`` when Arrow cannot type them.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return f"category[{dtype.categories.dtype}]", None
    if isinstance(dtype, pd.ArrowDtype):
        return str(dtype), dtype.pyarrow_dtype
    if pd.api.types.is_object_dtype(dtype):
        arrow = known if known is not None else arrow_type(series)
        return ("object" if arrow is None else str(arrow)), arrow
    return str(dtype), None


def schema_facet(
    frame: pd.DataFrame, file_types: Mapping[str, pa.DataType] | None = None
) -> schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet: every column, in order, with its type and nested fields.

    Each column is a field, duplicated names included (each with its own column's type);
    names are ``str`` of the column labels. The type is the pandas dtype, or for an
    ``object`` column (where pandas keeps Python objects: structs, maps, decimals, binary,
    dates, times) the Arrow type ``file_types`` gives for its name, else the Arrow type its
    values infer to (``object`` when Arrow cannot type them). Struct, list, map and union
    columns get nested ``fields``: a struct's fields, a list's element, a map's key and
    value, recursively.

    Parameters
    ----------
    frame : pandas.DataFrame
    file_types : mapping of str to pyarrow.DataType, optional
        The Arrow types of the file the frame was read from (a Parquet file's schema), by
        column name.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"n": [1, 2], "s": [{"a": 1, "b": ["x"]}, None]})
    >>> [(f.name, f.type) for f in schema_facet(frame).fields]
    [('n', 'int64'), ('s', 'struct<a: int64, b: list<item: string>>')]
    >>> [(f.name, f.type, [g.name for g in f.fields])
    ...  for f in schema_facet(frame).fields[1].fields]
    [('a', 'int64', []), ('b', 'list<item: string>', ['item'])]
    """
    known = file_types or {}
    fields = []
    for i, name in enumerate(frame.columns):
        type_name, arrow = _column_type(frame.iloc[:, i], known.get(str(name)))
        fields.append(
            schema_dataset.SchemaDatasetFacetFields(
                name=str(name), type=type_name, fields=_arrow_fields(arrow) if arrow else []
            )
        )
    return schema_dataset.SchemaDatasetFacet(fields=fields)


def columns_schema_facet(
    columns: Sequence[tuple[str, str | pa.DataType | None]],
) -> schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet from ``(name, type)`` pairs; a type of None is left out.

    For inputs whose rows are not read: the names are the engine's, the types the file's own
    (Parquet) where known. OpenLineage's schema requires a field's name, not its type. An
    Arrow type is written as Arrow writes it, with nested ``fields`` for structs, lists, maps
    and unions (as :func:`schema_facet` gives them).

    Examples
    --------
    >>> import pyarrow as pa
    >>> facet = columns_schema_facet([("sex", "string"), ("score", None)])
    >>> [(f.name, f.type) for f in facet.fields]
    [('sex', 'string'), ('score', None)]
    >>> point = pa.struct([("x", pa.float64()), ("y", pa.float64())])
    >>> (field,) = columns_schema_facet([("where", point)]).fields
    >>> field.type, [(f.name, f.type) for f in field.fields]
    ('struct<x: double, y: double>', [('x', 'double'), ('y', 'double')])
    """
    fields = [
        _arrow_field(str(n), t)
        if isinstance(t, pa.DataType)
        else schema_dataset.SchemaDatasetFacetFields(name=str(n), type=t)
        for n, t in columns
    ]
    return schema_dataset.SchemaDatasetFacet(fields=fields)


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


def _distinct_count(series: pd.Series, missing: np.ndarray) -> int:
    """Distinct non-missing values; numpy numbers by sorting (several times faster than hashing).

    Values pandas cannot hash or compare (structs, lists, maps, arrays) are counted by their
    canonical text (:func:`~lineage._values.canonical_text`).
    """
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        values = series.to_numpy()
        if values.dtype.kind == "f":
            values = values[~np.isnan(values)]
        return int(np.unique(values).size)
    if not is_nested(series, missing):
        try:
            return int(series.nunique(dropna=True))
        except ARROW_OR_PANDAS_ERRORS:
            pass
    present = [v for v, m in zip(series.tolist(), missing.tolist(), strict=True) if not m]
    return len({canonical_text(v) for v in present})


def _floats(series: pd.Series) -> np.ndarray | None:
    """A column of real numbers (or decimals) as float64, missing as NaN; else None.

    Booleans, complex numbers and Arrow types that are not numbers have no minimum or sum
    here, nor does a column pandas cannot convert.
    """
    dtype = series.dtype
    decimal = isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype)
    if number_kind(dtype) != "n" and not decimal:
        return None
    try:
        return np.asarray(series.to_numpy(dtype=float, na_value=np.nan), dtype=float)
    except ARROW_OR_PANDAS_ERRORS:
        return None


def quality_facet(
    frame: pd.DataFrame, *, size: int | None = None
) -> data_quality_metrics_dataset.DataQualityMetricsDatasetFacet:
    """The ``dataQualityMetrics`` facet: rows, bytes, and per column nulls, distincts, min, max.

    ``columnMetrics`` is keyed by ``str`` of the column label; a name held by several columns
    (duplicated, or ``1`` and ``"1"``) is described by its first column. Columns of any type
    get ``nullCount``, ``count`` and ``distinctCount`` (nested values counted by their
    canonical text); numeric ones also ``min``, ``max`` and ``sum`` of their finite values.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"x": [1.5, None, 3.0], "s": [{"a": 1}, {"a": 1}, None]})
    >>> metrics = quality_facet(frame).columnMetrics
    >>> metrics["x"].nullCount, metrics["x"].min, metrics["x"].sum
    (1, 1.5, 4.5)
    >>> metrics["s"].nullCount, metrics["s"].distinctCount
    (1, 1)
    """
    metrics: dict[str, data_quality_metrics_dataset.ColumnMetrics] = {}
    for i, name in enumerate(frame.columns):
        key = str(name)
        if key in metrics:
            continue
        series = frame.iloc[:, i]
        missing = missing_mask(series)
        nulls = int(missing.sum())
        values: dict[str, Any] = {
            "nullCount": nulls,
            "distinctCount": _distinct_count(series, missing),
            "count": float(len(series) - nulls),
        }
        numbers = _floats(series)
        if numbers is not None:
            finite = numbers[np.isfinite(numbers)]
            if finite.size:
                values.update(min=float(finite.min()), max=float(finite.max()))
                values["sum"] = float(finite.sum())
        metrics[key] = data_quality_metrics_dataset.ColumnMetrics(**plain(values))
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
    Columns with no same-named input column are left out (not known). A duplicated name is
    compared by its first column in each frame, and fields are keyed by ``str`` of the label
    (the first column whose label gives that text); values that cannot be compared (e.g.
    nested values pandas cannot test for equality) are a ``TRANSFORMATION`` described as
    unverified.
    """
    fields: dict[str, column_lineage_dataset.Fields] = {}
    for column in dict.fromkeys(output.columns):
        if str(column) in fields:
            continue
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
    out, src = column_at(output, column), column_at(source, column)
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
    try:
        same = out.dtype == aligned.dtype and out.reset_index(drop=True).equals(
            aligned.reset_index(drop=True)
        )
    except ARROW_OR_PANDAS_ERRORS:
        return "TRANSFORMATION", "same-named column; values could not be compared"
    if same:
        return "IDENTITY", "values unchanged on the rows kept"
    return "TRANSFORMATION", (
        "values or type differ from the input's rows with the same index labels "
        "(changed by the step, or rows re-labelled)"
    )
