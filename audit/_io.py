"""Read predictions tables from CSV or Parquet with explicit column types.

Types come from the roles, never from guessing: labels and sensitive features are read as
dictionary-encoded text, scores and weights as float64, every other column as text (only its
missingness is used). A malformed CSV row is reported with its line number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from audit._exceptions import DataValidationError

__all__ = ["read_predictions"]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_CONVERSION = re.compile(
    r"In CSV column #(\d+): Row #(\d+): CSV conversion error to (\w+): "
    r"invalid value '(.*)'",
    re.S,
)
_PARSE = re.compile(r"CSV parse error: (?:Row #(\d+): )?(.*)", re.S)
#: Text is read dictionary-encoded (a pandas categorical): labels and sensitive features have
#: few distinct values, so this holds an int32 code per row instead of a string.
_TEXT = pa.dictionary(pa.int32(), pa.string())


def infer_format(path: Path, declared: str | None = None) -> str:
    """The file format: declared, or from the suffix (``.csv``, ``.parquet``, also gzipped CSV).

    Examples
    --------
    >>> infer_format(Path("scores.csv.gz"))
    'csv'
    """
    if declared is not None:
        if declared not in ("csv", "parquet"):
            raise DataValidationError(f"format must be 'csv' or 'parquet'; got {declared!r}.")
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    for s in reversed(suffixes):
        if s in _FORMATS:
            return _FORMATS[s]
    raise DataValidationError(
        f"Cannot tell the format of '{path.name}': expected a .csv, .csv.gz or .parquet file, "
        "or set format in [data]."
    )


def read_predictions(
    path: str | Path,
    *,
    text_columns: Sequence[str],
    number_columns: Mapping[str, str],
    file_format: str | None = None,
) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """Read a predictions file with explicit types.

    Parameters
    ----------
    path : str or Path
    text_columns : sequence of str
        Columns read as text (labels, sensitive features).
    number_columns : mapping of str to str
        Columns read as float64, mapped to their role (for messages).
    file_format : {"csv", "parquet"}, optional
        Inferred from the suffix when omitted.

    Returns
    -------
    frame : pandas.DataFrame
    describe_row : callable
        Turns a 0-based row position into ``"line N of FILE"`` (CSV) or ``"row N of FILE"``.

    Raises
    ------
    DataValidationError
        File missing, unreadable, a malformed row (with its line number), a number column
        holding text, or a role column absent.
    """
    path = Path(path)
    fmt = infer_format(path, file_format)
    if not path.is_file():
        raise DataValidationError(f"Data file '{path}' does not exist.")
    wanted = [*text_columns, *number_columns]
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(
                f"'{path.name}' is not a readable Parquet file: {exc}"
            ) from None
        _check_columns(path, wanted, schema.names, number_columns, text_columns)
        text = [n for n in schema.names if n not in number_columns]
        try:
            # Text columns as dictionaries (pandas categoricals): a few distinct values per
            # column is the normal case, and encoding then costs nothing downstream.
            table = pq.read_table(path, read_dictionary=text)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"'{path.name}' could not be read: {exc}") from None
        frame = table.to_pandas()
        return frame, lambda i: f"row {i} of {path.name}"
    names = _csv_header(path)
    _check_columns(path, wanted, names, number_columns, text_columns)
    types = {n: _TEXT for n in names}
    types.update({c: pa.float64() for c in number_columns})
    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid:
        # Read again single-threaded: only then does Arrow know the line number.
        try:
            table = pacsv.read_csv(
                path, read_options=pacsv.ReadOptions(use_threads=False), convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, exc, names, number_columns) from None
    frame = table.to_pandas()
    return frame, lambda i: f"line {i + 2} of {path.name}"


def _csv_header(path: Path) -> list[str]:
    try:
        with pa.input_stream(str(path), compression="detect") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")  # a BOM is not a name
            header = next(csv.reader(text), None)
    except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataValidationError(
            f"'{path.name}' is not a readable CSV file: {_short(exc)}"
        ) from None
    if not header:
        raise DataValidationError(
            f"'{path.name}' is empty: expected a header line of column names."
        )
    return header


def _check_columns(
    path: Path,
    wanted: Sequence[str],
    present: Sequence[str],
    number_columns: Mapping[str, str],
    text_columns: Sequence[str],
) -> None:
    for column in wanted:
        if column not in present:
            role = number_columns.get(column, "sensitive feature or label")
            raise DataValidationError(
                f"Column '{column}' ({role}) is not in '{path.name}'. Columns present: "
                f"{list(present)}."
            )
    del text_columns


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _csv_error(
    path: Path, exc: pa.ArrowInvalid, names: Sequence[str], number_columns: Mapping[str, str]
) -> DataValidationError:
    text = str(exc)
    m = _CONVERSION.search(text)
    if m:
        col = names[int(m.group(1))]
        role = number_columns.get(col, "column")
        return DataValidationError(
            f"'{path.name}', line {m.group(2)}: column '{col}' ({role}) must hold numbers; found "
            f"{m.group(4)!r}."
        )
    m = _PARSE.search(text)
    if m:
        where = f"line {m.group(1)}" if m.group(1) else "a row"
        detail = m.group(2).strip().splitlines()[0][:200]
        return DataValidationError(f"'{path.name}', {where} is malformed: {detail}.")
    return DataValidationError(f"'{path.name}' could not be read as CSV: {_short(exc)}")
