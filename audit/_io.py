"""Read predictions tables from CSV or Parquet with explicit column types.

Types come from the roles, never from guessing: labels and sensitive features are read as
dictionary-encoded text, scores and weights as float64, every other column as text (only its
missingness is used). Only an empty CSV field is missing, unless ``missing_values`` lists
more strings. Every check on a file's columns — names, duplicates, the types a Parquet file
gives the role columns, parts that disagree — lives here, so that every engine refuses the
same files with the same words. Rows are named by their physical line, as an editor shows it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from audit._exceptions import DataValidationError
from audit._validation import check_unique_names

__all__ = [
    "check_parts",
    "check_quotes",
    "check_role_types",
    "csv_null_values",
    "physical_line",
    "read_predictions",
    "type_family",
]

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_CONVERSION = re.compile(
    r"In CSV column #(\d+): Row #(\d+): CSV conversion error to (\w+): "
    r"invalid value '(.*)'",
    re.S,
)
_UTF8 = re.compile(r"In CSV column #(\d+): Row #(\d+): CSV conversion error to \w+: invalid UTF8")
_PARSE = re.compile(r"CSV parse error: (?:Row #(\d+): )?(.*)", re.S)
_STRADDLE = "straddle"
#: Text is read dictionary-encoded (a pandas categorical): labels and sensitive features have
#: few distinct values, so this holds an int32 code per row instead of a string.
_TEXT = pa.dictionary(pa.int32(), pa.string())
#: Arrow reads CSV in blocks; a field longer than a block is read again with larger blocks,
#: up to this size (a field of a gibibyte is not a label or a category).
MAX_FIELD_BYTES = 1 << 30
_BLOCK = 1 << 20


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


def csv_null_values(missing_values: Iterable[str] = ()) -> list[str]:
    """The strings a CSV field is missing as: the empty field, and the ones declared.

    Examples
    --------
    >>> csv_null_values(["NA"])
    ['', 'NA']
    """
    return list(dict.fromkeys(["", *missing_values]))


def type_family(arrow_type: pa.DataType) -> str:
    """What kind of values a column of ``arrow_type`` holds, in the words messages use.

    One of ``number``, ``boolean``, ``text``, ``null``, ``temporal``, ``nested``, ``binary``,
    ``other``. Columns of the same family may come from different parts of one input.

    Examples
    --------
    >>> type_family(pa.int32()), type_family(pa.dictionary(pa.int8(), pa.string()))
    ('number', 'text')
    >>> type_family(pa.timestamp("us", tz="UTC")), type_family(pa.list_(pa.int64()))
    ('temporal', 'nested')
    """
    t = pa.types
    if t.is_dictionary(arrow_type):
        return type_family(arrow_type.value_type)
    if t.is_integer(arrow_type) or t.is_floating(arrow_type) or t.is_decimal(arrow_type):
        return "number"
    if t.is_boolean(arrow_type):
        return "boolean"
    if t.is_string(arrow_type) or t.is_large_string(arrow_type) or _is_view(arrow_type):
        return "text"
    if t.is_null(arrow_type):
        return "null"
    if t.is_temporal(arrow_type) or t.is_interval(arrow_type):
        return "temporal"
    if t.is_nested(arrow_type):
        return "nested"
    if (
        t.is_binary(arrow_type)
        or t.is_large_binary(arrow_type)
        or t.is_fixed_size_binary(arrow_type)
    ):
        return "binary"
    return "other"


def _is_view(arrow_type: pa.DataType) -> bool:
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow ≥ 16
    return bool(is_view and is_view(arrow_type))


def _role_noun(role: str) -> str:
    return "sensitive feature" if role.startswith("sensitive") else role


def check_role_types(
    name: str, types: Mapping[str, pa.DataType], roles: Mapping[str, str], numbers: Iterable[str]
) -> None:
    """Refuse a role column whose Parquet type cannot hold that role, naming the file.

    ``roles`` maps each role column to its role; ``numbers`` are the columns read as numbers.
    Labels and sensitive features hold text, numbers or booleans; a timestamp as a sensitive
    feature is refused with the advice to bin it (engines disagree on time zones).

    Examples
    --------
    >>> check_role_types("x.parquet", {"t": pa.timestamp("s")}, {"t": "sensitive_features[0]"},
    ...                  ())
    Traceback (most recent call last):
    ...
    audit._exceptions.DataValidationError: Column 't' (sensitive feature) holds dates or times ...
    """
    numbers = set(numbers)
    for column, role in roles.items():
        if column not in types:
            continue
        arrow_type = types[column]
        family = type_family(arrow_type)
        noun = _role_noun(role)
        if column in numbers:
            if family not in ("number", "null"):
                raise DataValidationError(
                    f"Column '{column}' ({noun}) must hold numbers; found type {arrow_type} in "
                    f"'{name}'."
                )
            continue
        if family == "temporal" and noun == "sensitive feature":
            raise DataValidationError(
                f"Column '{column}' ({noun}) holds dates or times ({arrow_type}) in '{name}'; bin "
                "it into periods (for example a year or a month column) to compare groups."
            )
        if family not in ("number", "boolean", "text", "null"):
            what = "categories" if noun == "sensitive feature" else "labels"
            raise DataValidationError(
                f"Column '{column}' ({noun}) must hold {what} (text, numbers or booleans); found "
                f"type {arrow_type} in '{name}'."
            )


def check_names(name: str, names: Sequence[str]) -> None:
    """Refuse a file whose columns are not named uniquely, naming the repeated name.

    Examples
    --------
    >>> check_names("x.csv", ["y", "sex", "sex"])
    Traceback (most recent call last):
    ...
    audit._exceptions.DataValidationError: 'x.csv' has 2 columns named 'sex' (columns 2 and 3); ...
    """
    check_unique_names(names, f"'{name}'")


def check_parts(schemas: Sequence[tuple[str, Mapping[str, pa.DataType]]]) -> None:
    """Refuse parts of one input that do not have the same columns of the same kinds.

    Columns are matched by name (their order may differ). ``schemas`` holds each part's name
    and its columns' types (a CSV part's are all text).

    Examples
    --------
    >>> check_parts([("a.parquet", {"y": pa.int64()}), ("b.parquet", {"y": pa.string()})])
    Traceback (most recent call last):
    ...
    audit._exceptions.DataValidationError: Column 'y' has type int64 in 'a.parquet' but string ...
    """
    first_name, first = schemas[0]
    for name, types in schemas[1:]:
        for column in first:
            if column not in types:
                raise DataValidationError(
                    f"Part '{name}' has no column '{column}', which '{first_name}' has; every "
                    "part must have the same columns."
                )
        for column in types:
            if column not in first:
                raise DataValidationError(
                    f"Part '{name}' has a column '{column}', which '{first_name}' has not; every "
                    "part must have the same columns."
                )
        for column, arrow_type in types.items():
            a, b = type_family(first[column]), type_family(arrow_type)
            if a != b and "null" not in (a, b):
                raise DataValidationError(
                    f"Column '{column}' has type {first[column]} in '{first_name}' but "
                    f"{arrow_type} in '{name}'; every part must give a column the same type."
                )


def parquet_schema(path: Path) -> pa.Schema:
    """A Parquet file's schema; a file that is not Parquet is refused in one line."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataValidationError(
            f"'{path.name}' is not a readable Parquet file: {_short(exc)}"
        ) from None


def read_predictions(
    path: str | Path,
    *,
    text_columns: Sequence[str] | Mapping[str, str],
    number_columns: Mapping[str, str],
    file_format: str | None = None,
    missing_values: Sequence[str] = (),
) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """Read a predictions file with explicit types.

    Parameters
    ----------
    path : str or Path
    text_columns : sequence of str, or mapping of str to str
        Columns read as text (labels, sensitive features); a mapping gives each its role
        (``y_true``, ``sensitive_features[0]``...) for messages.
    number_columns : mapping of str to str
        Columns read as float64, mapped to their role (for messages).
    file_format : {"csv", "parquet"}, optional
        Inferred from the suffix when omitted.
    missing_values : sequence of str
        Strings read as missing in a CSV file, besides the empty field.

    Returns
    -------
    frame : pandas.DataFrame
    describe_row : callable
        Turns a 0-based row position into ``"line N of FILE"`` (CSV, the physical line) or
        ``"row N of FILE"``.

    Raises
    ------
    DataValidationError
        File missing, unreadable, a malformed row (with its line number), a number column
        holding text, a role column absent or of a type that cannot hold its role, columns
        named twice.
    """
    path = Path(path)
    fmt = infer_format(path, file_format)
    if not path.is_file():
        raise DataValidationError(f"Data file '{path}' does not exist.")
    roles = _roles(text_columns, number_columns)
    if fmt == "parquet":
        schema = parquet_schema(path)
        check_names(path.name, schema.names)
        check_columns(path, roles, schema.names)
        check_role_types(path.name, _types(schema), roles, number_columns)
        text = [
            n
            for n in schema.names
            if n not in number_columns and type_family(schema.field(n).type) == "text"
        ]
        try:
            # Text columns as dictionaries (pandas categoricals): a few distinct values per
            # column is the normal case, and encoding then costs nothing downstream.
            table = pq.read_table(path, read_dictionary=text)
        except (pa.ArrowException, OSError) as exc:
            raise DataValidationError(f"'{path.name}' could not be read: {_short(exc)}") from None
        table = decimals_as_floats(table, roles)
        try:
            frame = table.to_pandas()
        except (pa.ArrowException, TypeError, ValueError):
            # A column numpy cannot hold (a list of fixed-size binaries...): Arrow-backed.
            frame = table.to_pandas(types_mapper=_arrow_backed)
        return frame, lambda i: f"row {i} of {path.name}"
    names = csv_header(path)
    check_names(path.name, names)
    check_columns(path, roles, names)
    check_quotes(path)  # before parsing: an open quote also shows as a malformed row
    table = read_csv_table(path, names, number_columns, missing_values)
    frame = table.to_pandas()
    return frame, lambda i: f"line {physical_line(path, i)} of {path.name}"


def _arrow_backed(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    """Nested and binary columns as Arrow-backed pandas columns; the rest as usual."""
    if type_family(arrow_type) in ("nested", "binary", "other"):
        return pd.ArrowDtype(arrow_type)
    return None


def _types(schema: pa.Schema) -> dict[str, pa.DataType]:
    return {f.name: f.type for f in schema}


def _roles(
    text_columns: Sequence[str] | Mapping[str, str], number_columns: Mapping[str, str]
) -> dict[str, str]:
    if isinstance(text_columns, Mapping):
        roles = dict(text_columns)
    else:
        roles = {c: "sensitive feature or label" for c in text_columns}
    roles.update(number_columns)
    # Checked in the order of validation (labels, score, weight, sensitive features), as the
    # out-of-core engines check them: the first problem found is the same everywhere.
    order = ("y_true", "y_pred", "y_score", "sample_weight")
    ranked = sorted(roles.items(), key=lambda cr: order.index(cr[1]) if cr[1] in order else 4)
    return dict(ranked)


def decimals_as_floats(table: pa.Table, roles: Iterable[str]) -> pa.Table:
    """Decimal role columns as float64, as every engine reads them."""
    roles = set(roles)
    for i, field in enumerate(table.schema):
        if field.name in roles and pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
    return table


def csv_convert(
    names: Sequence[str],
    number_columns: Mapping[str, str],
    missing_values: Sequence[str],
    text: pa.DataType = _TEXT,
) -> pacsv.ConvertOptions:
    """How CSV columns are converted: numbers as float64, the rest as ``text``.

    Text is dictionary-encoded by default; only an empty field and ``missing_values`` are
    missing.
    """
    types: dict[str, pa.DataType] = {n: text for n in names}
    types.update({c: pa.float64() for c in number_columns})
    return pacsv.ConvertOptions(
        column_types=types,
        strings_can_be_null=True,
        null_values=csv_null_values(missing_values),
    )


def read_csv_table(
    path: Path,
    names: Sequence[str],
    number_columns: Mapping[str, str],
    missing_values: Sequence[str],
) -> pa.Table:
    """A CSV file as an Arrow table, typed by :func:`csv_convert`; its errors in one line."""
    convert = csv_convert(names, number_columns, missing_values)
    block = _BLOCK
    while True:
        try:
            return pacsv.read_csv(
                path, read_options=pacsv.ReadOptions(block_size=block), convert_options=convert
            )
        except pa.ArrowInvalid as exc:
            if _STRADDLE in str(exc) and block < MAX_FIELD_BYTES:
                block = min(block * 16, MAX_FIELD_BYTES)  # a field longer than a block
                continue
            break
    # Read again single-threaded: only then does Arrow know the row.
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
            convert_options=convert,
        )
    except pa.ArrowInvalid as exc:
        raise csv_error(path, exc, names, number_columns) from None


def csv_batches(
    path: Path,
    names: Sequence[str],
    number_columns: Mapping[str, str],
    missing_values: Sequence[str],
) -> Iterator[pa.RecordBatch]:
    """A CSV file's batches in order, typed as :func:`read_csv_table` types them.

    A field longer than a block starts the file again with larger blocks, past the rows
    already given: each row comes once, in order.
    """
    convert = csv_convert(names, number_columns, missing_values)
    block, done = _BLOCK, 0
    while True:
        skip = done
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
                convert_options=convert,
            )
            for batch in reader:
                if skip >= batch.num_rows:
                    skip -= batch.num_rows
                    continue
                batch, skip = batch.slice(skip), 0
                done += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as exc:
            if _STRADDLE in str(exc) and block < MAX_FIELD_BYTES:
                block = min(block * 16, MAX_FIELD_BYTES)
                continue
            raise csv_error(path, exc, names, number_columns) from None


def check_quotes(path: Path) -> None:
    """Refuse a CSV file whose last quoted value is never closed.

    Arrow reads such a value to the end of the file; DuckDB refuses it. An odd number of
    quote characters is the sign (a quote inside a quoted value is doubled); then the file is
    parsed to tell an open quote from a stray one inside an unquoted value, and to find the
    line where the open value starts.
    """
    quotes = 0
    with pa.input_stream(str(path), compression="detect") as raw:
        while chunk := raw.read(1 << 24):
            quotes += chunk.count(b'"')
    if quotes % 2 == 0:
        return
    with pa.input_stream(str(path), compression="detect") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error:
            raise DataValidationError(
                f"'{path.name}', line {start}: a quoted value is never closed; close its quote, or "
                "double a quote inside a value."
            ) from None


def csv_header(path: Path) -> list[str]:
    """A CSV file's column names (its first record; a BOM is not part of a name).

    Only the header is decoded: a data row that is not UTF-8 is reported where it is.
    """
    try:
        with pa.input_stream(str(path), compression="detect") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape",
                                    newline="")  # fmt: skip
            header = next(csv.reader(text), None)
    except (pa.ArrowException, OSError, csv.Error) as exc:
        raise DataValidationError(
            f"'{path.name}' is not a readable CSV file: {_short(exc)}"
        ) from None
    if not header:
        raise DataValidationError(
            f"'{path.name}' is empty: expected a header line of column names."
        )
    for i, name in enumerate(header):
        if any("\udc80" <= ch <= "\udcff" for ch in name):
            raise DataValidationError(
                f"'{path.name}', line 1: the name of column {i + 1} is not UTF-8 text; save the "
                "file as UTF-8."
            )
    return header


def physical_line(path: Path, row: int) -> int:
    r"""The line a 0-based data row starts on, as an editor numbers lines (header: line 1).

    Quoted values may hold line breaks and empty lines are skipped, so the row's position
    alone does not tell its line: the file is read up to the row.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_text('y,note\n0,"two\nlines"\n\n1,b\n')
    >>> physical_line(p, 0), physical_line(p, 1)
    (2, 5)
    """
    with pa.input_stream(str(path), compression="detect") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        index = -1  # the header
        start = 1
        try:
            for record in reader:
                if record:
                    if index == row:
                        return start
                    index += 1
                start = reader.line_num + 1
        except csv.Error:
            pass
    return row + 2  # the file ended first: say what Arrow's count says


def check_columns(path: Path, roles: Mapping[str, str], present: Sequence[str]) -> None:
    """Refuse a file without a role column, naming it, its role and the columns there are.

    A header of one column holding ``;``, a tab or ``|`` is a file with another delimiter:
    the message says so.
    """
    for column, role in roles.items():
        if column not in present:
            hint = ""
            if len(present) == 1:
                found = [name for sep, name in _DELIMITERS if sep in present[0]]
                if found:
                    hint = f" The header looks {found[0]}-separated; fairtrail reads commas."
            raise DataValidationError(
                f"Column '{column}' ({role}) is not in '{path.name}'. Columns present: "
                f"{list(present)}.{hint}"
            )


_DELIMITERS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300]


def csv_error(
    path: Path, exc: pa.ArrowInvalid, names: Sequence[str], number_columns: Mapping[str, str]
) -> DataValidationError:
    """Arrow's error reading a CSV file, as one line naming the physical line and column."""
    text = str(exc)
    if "Empty CSV file" in text:
        return DataValidationError("The data is empty: 0 rows to audit.")
    if _STRADDLE in text:
        return DataValidationError(
            f"'{path.name}' holds a field longer than {MAX_FIELD_BYTES >> 20} MiB, the longest "
            "fairtrail reads."
        )

    def line(arrow_row: str) -> int:  # Arrow counts records from 1, the header included
        return physical_line(path, int(arrow_row) - 2)

    m = _CONVERSION.search(text)
    if m:
        col = names[int(m.group(1))]
        role = number_columns.get(col, "column")
        return DataValidationError(
            f"'{path.name}', line {line(m.group(2))}: column '{col}' ({role}) must hold "
            f"numbers; found {m.group(4)!r}."
        )
    m = _UTF8.search(text)
    if m:
        col = names[int(m.group(1))]
        return DataValidationError(
            f"'{path.name}', line {line(m.group(2))}: column '{col}' holds bytes that are not "
            "UTF-8 text; save the file as UTF-8."
        )
    m = _PARSE.search(text)
    if m:
        where = f"line {line(m.group(1))}" if m.group(1) else "a row"
        detail = m.group(2).strip().splitlines()[0][:200]
        return DataValidationError(f"'{path.name}', {where} is malformed: {detail}.")
    return DataValidationError(f"'{path.name}' could not be read as CSV: {_short(exc)}")
