"""Demo datasets bundled with fairtrail: UCI Adult and Statlog (German Credit).

Both datasets are licensed CC BY 4.0 by the UCI Machine Learning Repository; see
``audit/datasets/data/ATTRIBUTION.md``. Each bundled file is a gzipped CSV written by
``scripts/make_datasets.py``; ``data/SOURCES.json`` records where it came from, the sha256 of
every raw file it was derived from, and its own sha256, which the loaders check before parsing.

The loaders never let pandas infer dtypes: integers are ``int64``, flags are ``bool`` and text is
pandas' ``"string"`` dtype, so that missing values stay ``<NA>``. Rows with missing values are
kept; dropping them is a preparation step for the caller to record.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pathlib
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from audit._exceptions import FairtrailError

__all__ = [
    "DatasetIntegrityError",
    "dataset_info",
    "dataset_path",
    "load_adult",
    "load_german",
]

_AVAILABLE: Final[tuple[str, ...]] = ("adult", "german")

# The column order and dtypes of each bundled file. scripts/make_datasets.py writes the same
# schema into SOURCES.json; the loader refuses a file whose header or manifest disagrees.
_SCHEMAS: Final[dict[str, dict[str, str]]] = {
    "adult": {
        "age": "int64",
        "workclass": "string",
        "fnlwgt": "int64",
        "education": "string",
        "education_num": "int64",
        "marital_status": "string",
        "occupation": "string",
        "relationship": "string",
        "race": "string",
        "sex": "string",
        "capital_gain": "int64",
        "capital_loss": "int64",
        "hours_per_week": "int64",
        "native_country": "string",
        "income": "string",
        "split": "string",
    },
    "german": {
        "status": "string",
        "duration": "int64",
        "credit_history": "string",
        "purpose": "string",
        "credit_amount": "int64",
        "savings": "string",
        "present_employment": "string",
        "installment_rate": "int64",
        "personal_status": "string",
        "sex": "string",
        "other_debtors": "string",
        "present_residence_since": "int64",
        "property": "string",
        "age": "int64",
        "installment_plans": "string",
        "housing": "string",
        "number_of_existing_credits": "int64",
        "job": "string",
        "number_of_people_liable_for": "int64",
        "telephone": "bool",
        "foreign_worker": "bool",
        "credit": "string",
        "age_group": "string",
    },
}

_ARROW_TYPES: Final[dict[str, Any]] = {
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "string": pa.string(),
}


class DatasetIntegrityError(FairtrailError):
    """A bundled dataset file does not match its record in ``SOURCES.json``.

    Raised when the file's sha256 differs from the recorded one (the file was modified or
    corrupted), or when its columns, dtypes or row count are not the recorded ones.
    """


def _data_dir() -> Traversable:
    """Return the folder holding the bundled files (works from an installed wheel)."""
    return resources.files("audit.datasets").joinpath("data")


def _check_name(name: str) -> str:
    if name not in _AVAILABLE:
        raise ValueError(f"Unknown dataset {name!r}. Available: {list(_AVAILABLE)}.")
    return name


def _file_name(name: str) -> str:
    return f"{name}.csv.gz"


def _verify_sha256(data: bytes, expected: str, file_name: str) -> None:
    """Raise `DatasetIntegrityError` unless ``sha256(data)`` is ``expected``."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DatasetIntegrityError(
            f"Bundled dataset file {file_name!r} does not match SOURCES.json: "
            f"sha256 is {actual}, expected {expected}. The file was modified or corrupted; "
            "reinstall fairtrail or regenerate it with scripts/make_datasets.py."
        )


def dataset_info(name: str) -> dict[str, Any]:
    """Return the provenance record of a bundled dataset.

    Parameters
    ----------
    name : {'adult', 'german'}
        The dataset.

    Returns
    -------
    dict
        The dataset's entry in ``SOURCES.json``: ``name``, ``title``, ``file``, ``sha256`` (of
        the bundled file), ``rows``, ``columns`` (column name to dtype, in file order),
        ``target``, ``positive_label``, ``sensitive_features``, ``missing_values`` (count of
        missing values per column), ``origin``, ``url``, ``licence``, ``licence_url``,
        ``citation``, ``doi``, ``obtained_from``, ``source_files`` (raw file to sha256) and
        ``transformation``. A fresh dictionary on every call.

    Raises
    ------
    ValueError
        If `name` is not a bundled dataset.

    Examples
    --------
    >>> from audit.datasets import dataset_info
    >>> info = dataset_info("german")
    >>> info["target"], info["positive_label"], info["licence"]
    ('credit', 'good', 'CC BY 4.0')
    >>> info["sensitive_features"]
    ['sex', 'age_group']
    """
    _check_name(name)
    manifest = json.loads(_data_dir().joinpath("SOURCES.json").read_text(encoding="utf-8"))
    entry: dict[str, Any] = manifest["datasets"][name]
    return entry


def dataset_path(name: str) -> pathlib.Path:
    """Return the path of a bundled dataset file (a gzipped CSV).

    Parameters
    ----------
    name : {'adult', 'german'}
        The dataset.

    Returns
    -------
    pathlib.Path
        The bundled ``<name>.csv.gz`` inside the installed package.

    Raises
    ------
    ValueError
        If `name` is not a bundled dataset.
    FileNotFoundError
        If the file is missing, or the package is installed in a way (e.g. zipped) that gives
        it no file-system path; `load_adult` and `load_german` work in either case.

    Examples
    --------
    >>> from audit.datasets import dataset_path
    >>> dataset_path("adult").name
    'adult.csv.gz'
    """
    resource = _data_dir().joinpath(_file_name(_check_name(name)))
    if not isinstance(resource, pathlib.Path):
        raise FileNotFoundError(
            f"Bundled dataset {name!r} has no file-system path (the package is not installed "
            "as plain files); use load_adult() or load_german() instead."
        )
    if not resource.is_file():
        raise FileNotFoundError(f"Bundled dataset file is missing: {resource}")
    return resource


def _string_dtype(arrow_type: Any) -> pd.StringDtype | None:
    return pd.StringDtype() if pa.types.is_string(arrow_type) else None


def _load(name: str) -> pd.DataFrame:
    info = dataset_info(name)
    schema = _SCHEMAS[name]
    file_name = _file_name(name)
    if info["columns"] != schema:
        raise DatasetIntegrityError(
            f"SOURCES.json records columns {info['columns']} for {name!r}, "
            f"but this version of fairtrail expects {schema}."
        )

    data = _data_dir().joinpath(file_name).read_bytes()
    _verify_sha256(data, info["sha256"], file_name)

    table = pa_csv.read_csv(
        pa.BufferReader(gzip.decompress(data)),
        read_options=pa_csv.ReadOptions(autogenerate_column_names=False),
        convert_options=pa_csv.ConvertOptions(
            column_types={column: _ARROW_TYPES[dtype] for column, dtype in schema.items()},
            null_values=[""],
            strings_can_be_null=True,
            true_values=["true"],
            false_values=["false"],
        ),
    )
    if table.column_names != list(schema):
        raise DatasetIntegrityError(
            f"{file_name!r} has columns {table.column_names}, expected {list(schema)}."
        )
    if table.num_rows != info["rows"]:
        raise DatasetIntegrityError(
            f"{file_name!r} has {table.num_rows} rows, SOURCES.json records {info['rows']}."
        )
    for column, dtype in schema.items():
        # A null in an int64 or bool column would silently become float64 or object in pandas.
        if dtype != "string" and table.column(column).null_count:
            raise DatasetIntegrityError(
                f"{file_name!r}: column {column!r} ({dtype}) has missing values."
            )

    frame: pd.DataFrame = table.to_pandas(types_mapper=_string_dtype)
    return frame


def load_adult() -> pd.DataFrame:
    """Load the UCI Adult (census income) dataset, train and test parts together.

    48,842 rows: 32,561 from ``adult.data`` (``split == "train"``) and 16,281 from
    ``adult.test`` (``split == "test"``). The values ``?`` of the raw files are missing values
    (``<NA>``) in ``workclass``, ``occupation`` and ``native_country``; no row is dropped.

    Returns
    -------
    pandas.DataFrame
        Columns ``age``, ``workclass``, ``fnlwgt``, ``education``, ``education_num``,
        ``marital_status``, ``occupation``, ``relationship``, ``race``, ``sex``,
        ``capital_gain``, ``capital_loss``, ``hours_per_week``, ``native_country``,
        ``income`` (``">50K"`` or ``"<=50K"``; the target, positive label ``">50K"``) and
        ``split``. Integer columns are ``int64``, the others pandas ``"string"``.

    Raises
    ------
    DatasetIntegrityError
        If the bundled file does not match its sha256, columns or row count in
        ``SOURCES.json``.

    See Also
    --------
    dataset_info : provenance, licence and citation of the dataset.

    Notes
    -----
    Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning Repository.
    https://doi.org/10.24432/C5XW20. Licensed CC BY 4.0.

    Examples
    --------
    >>> from audit.datasets import load_adult
    >>> df = load_adult()
    >>> df.shape
    (48842, 16)
    >>> df["income"].value_counts().to_dict()
    {'<=50K': 37155, '>50K': 11687}
    >>> str(df["workclass"].dtype), int(df["workclass"].isna().sum())
    ('string', 2799)
    """
    return _load("adult")


def load_german() -> pd.DataFrame:
    """Load the Statlog (German Credit Data) dataset, decoded into readable values.

    1,000 rows. The coded values of the raw file (``A11``...) are decoded into text; the raw
    ``personal status and sex`` attribute is split into ``sex`` and ``personal_status``.

    Returns
    -------
    pandas.DataFrame
        Columns ``status`` (of the existing checking account), ``duration``,
        ``credit_history``, ``purpose``, ``credit_amount``, ``savings``,
        ``present_employment``, ``installment_rate``, ``personal_status``, ``sex``
        (``"male"``/``"female"``), ``other_debtors``, ``present_residence_since``,
        ``property``, ``age``, ``installment_plans``, ``housing``,
        ``number_of_existing_credits``, ``job``, ``number_of_people_liable_for``,
        ``telephone``, ``foreign_worker``, ``credit`` (``"good"``/``"bad"``; the target,
        positive label ``"good"``) and ``age_group`` (``"<25"``/``">=25"``). Integer columns are
        ``int64``, ``telephone`` and ``foreign_worker`` are ``bool``, the others pandas
        ``"string"``. There are no missing values.

    Raises
    ------
    DatasetIntegrityError
        If the bundled file does not match its sha256, columns or row count in
        ``SOURCES.json``.

    See Also
    --------
    dataset_info : provenance, licence and citation of the dataset.

    Notes
    -----
    Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. UCI Machine Learning
    Repository. https://doi.org/10.24432/C5NC77. Licensed CC BY 4.0.

    The raw data has no single women (code ``A95`` never occurs), so ``personal_status`` is
    confounded with ``sex``.

    Examples
    --------
    >>> from audit.datasets import load_german
    >>> df = load_german()
    >>> df.shape
    (1000, 23)
    >>> df["sex"].value_counts().to_dict()
    {'male': 690, 'female': 310}
    >>> df["credit"].value_counts().to_dict()
    {'good': 700, 'bad': 300}
    """
    return _load("german")
