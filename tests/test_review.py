"""The review app's logic (fairtrail.review): every page's data, checked without a browser.

Bundles: the real German Credit demo (audit, lineage, mitigation) and a re-audit with another
seed (``review_bundles`` in conftest), plus small hand-built audits whose numbers are derived
by hand in the comments.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import zipfile
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from pypdf import PdfReader

from audit import AuditOptions, BundleError, audit_predictions, write_bundle
from audit.mitigation import evaluate_candidates
from audit.mitigation._tradeoff import Predictions
from fairtrail import review as rv
from fairtrail.identity import Reviewer
from fairtrail.review._bundles import MAX_UPLOAD_FILES
from fairtrail.signoff import SignoffError, SignoffStore

ADA = Reviewer("ada", "Ada Lovelace", "chair", True, "local")
VIC = Reviewer("vic", "Victor Viewer", "observer", False, "local")
TODAY = date(2026, 11, 25)


def copy(bundle: Path, into: Path) -> Path:
    return Path(shutil.copytree(bundle, into / bundle.name))


# -- Audits ------------------------------------------------------------------------------------


def test_find_bundles_lists_newest_first_with_status(review_bundles: Path) -> None:
    entries = rv.find_bundles(review_bundles)
    assert sorted(e.name for e in entries) == ["german", "german-reaudit"]
    assert [e.created_at for e in entries] == sorted((e.created_at for e in entries), reverse=True)
    entries.sort(key=lambda e: e.name)
    for e in entries:
        manifest = json.loads((e.path / "manifest.json").read_text())
        assert e.intact
        assert e.problems == ()
        assert (e.audit_id, e.status) == (manifest["audit_id"], manifest["status"])
        assert e.source == "Statlog (German Credit Data)"
    assert [e.has_tradeoff for e in entries] == [True, False]
    assert all(e.has_lineage for e in entries)


def test_a_tampered_bundle_is_listed_but_not_opened(review_bundles: Path, tmp_path: Path) -> None:
    bundle = copy(review_bundles / "german", tmp_path)
    result = bundle / "result.json"
    text = result.read_text()
    assert '"status": "inconclusive"' in text
    result.write_text(text.replace('"status": "inconclusive"', '"status": "pass"', 1))
    (entry,) = rv.find_bundles(tmp_path)
    assert not entry.intact
    assert "result.json" in entry.problems[0]
    with pytest.raises(BundleError, match=r"result\.json"):
        rv.open_review(bundle)


def test_a_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="does not exist"):
        rv.find_bundles(tmp_path / "nowhere")


# -- Overview ----------------------------------------------------------------------------------


def test_overview_counts_and_ranks_what_the_result_says(review_bundles: Path) -> None:
    review = rv.open_review(review_bundles / "german")
    data = rv.overview(review)
    verdicts = [c.verdict for c in review.result.criteria]
    assert data["counts"] == {v: verdicts.count(v) for v in ("pass", "fail", "inconclusive")}
    assert list(data["criteria"]["criterion"]) == [c.criterion for c in review.result.criteria]
    severities = [f["severity"] for f in data["findings"]]
    order = {"high": 0, "medium": 1, "review": 2}
    assert severities == sorted(severities, key=order.__getitem__)
    assert [f["rank"] for f in data["findings"]] == list(range(1, len(severities) + 1))


# -- Groups ------------------------------------------------------------------------------------


def test_group_rates_equal_fairlearn_on_the_bundles_predictions(review_bundles: Path) -> None:
    review = rv.open_review(review_bundles / "german")
    rows = pd.read_parquet(review_bundles / "german" / "predictions.parquet")
    pos = review.result.data.pos_label
    y_true = (rows[review.result.data.roles["y_true"]].astype(str) == pos).astype(int)
    y_pred = (rows[review.result.data.roles["y_pred"]].astype(str) == pos).astype(int)
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "true_positive_rate": true_positive_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=rows["sex"],
    )
    table = rv.group_table(review, "sex", ["selection_rate", "true_positive_rate"])
    for row in table.to_dict("records"):
        for metric in ("selection_rate", "true_positive_rate"):
            assert row[metric] == pytest.approx(frame.by_group.loc[row["group"], metric])
            assert row[f"{metric} lower"] <= row[metric] <= row[f"{metric} upper"]
            assert row[f"{metric} interval"] == (
                f"[{row[f'{metric} lower']:.3f}, {row[f'{metric} upper']:.3f}]"
            )
        assert row["count"] == (rows["sex"] == row["group"]).sum()


@cache
def small_audit() -> Any:
    """Group A: 100 rows; group B: 10 rows, none of them positive (TPR of B undefined).

    A: y = 1 for the first 50; predictions 1 for the first 40 and rows 50–59 → TPR 40/50 = 0.8.
    B: y = 0 everywhere → TPR = 0/0, undefined; 10 < min_group_size 30 → small.
    """
    y_true = [1] * 50 + [0] * 50 + [0] * 10
    y_pred = [1] * 40 + [0] * 10 + [1] * 10 + [0] * 40 + [1] * 5 + [0] * 5
    group = ["A"] * 100 + ["B"] * 10
    return audit_predictions(
        y_true, y_pred, sensitive_features={"g": group}, options=AuditOptions()
    )


@pytest.mark.filterwarnings("ignore::audit._exceptions.UndefinedMetricWarning")
def test_small_groups_are_marked_and_undefined_rates_are_nan_with_a_reason(tmp_path: Path) -> None:
    review = rv.open_review(write_bundle(small_audit(), tmp_path / "small"))
    table = rv.group_table(review, "g", ["true_positive_rate"]).set_index("group")
    assert table.loc["A", "true_positive_rate"] == pytest.approx(0.8)
    assert not table.loc["A", "small"]
    assert table.loc["B", "small"]
    assert math.isnan(table.loc["B", "true_positive_rate"])
    assert "true positive rate:" in table.loc["B", "note"]
    assert table.loc["B", "true_positive_rate interval"] == ""
    with pytest.raises(KeyError, match="Present"):
        rv.group_table(review, "g", ["no_such_metric"])


def test_csv_download_cannot_run_formulas() -> None:
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rx", "Female"]
    frame = pd.DataFrame(
        {"group": hostile, "change": [-0.5, 0.25, -1.0, 0.0, np.nan, 1.0, 2.0], "=evil": ["ok"] * 7}
    )
    rows = list(csv.reader(io.StringIO(rv.csv_bytes(frame).decode("utf-8"), newline="")))
    assert rows[0] == ["group", "change", "'=evil"]
    assert [r[0] for r in rows[1:]] == ["'" + h for h in hostile[:-1]] + ["Female"]
    assert [r[1] for r in rows[1:]] == ["-0.5", "0.25", "-1.0", "0.0", "", "1.0", "2.0"]


# -- Trade-off explorer ------------------------------------------------------------------------


@cache
def hand_tradeoff() -> Any:
    """Three candidates on 200 rows (F: rows 0–99, M: rows 100–199) with known numbers.

    y: 20 positives among F, 60 among M.
      perfect = y:                  accuracy 1.0, selection F .2, M .6 → DP difference 0.4
      fewer_m: 20 M positives → 0:  accuracy 0.9, F .2, M .4          → 0.2
      equal:   also 20 F negatives → 1: accuracy 0.8, F .4, M .4     → 0.0
    """
    y = np.zeros(200, dtype=int)
    y[:20] = 1
    y[100:160] = 1
    fewer_m = y.copy()
    fewer_m[140:160] = 0
    equal = fewer_m.copy()
    equal[20:40] = 1
    sex = np.array(["F"] * 100 + ["M"] * 100, dtype=object)
    predictions = [
        Predictions("perfect", "unmitigated", y),
        Predictions("fewer_m", "hand", fewer_m),
        Predictions("equal", "hand", equal),
    ]
    tradeoff, _ = evaluate_candidates(
        y, predictions, sensitive_features={"sex": sex}, constraint="demographic_parity",
        options=AuditOptions(),
    )  # fmt: skip
    return tradeoff


def test_the_hand_tradeoff_has_the_hand_numbers() -> None:
    t = hand_tradeoff()
    got = {c.name: [c.performance.value, c.disparity.value] for c in t.candidates}
    expected = {"perfect": [1.0, 0.4], "fewer_m": [0.9, 0.2], "equal": [0.8, 0.0]}
    assert got.keys() == expected.keys()
    for name, values in expected.items():
        assert got[name] == pytest.approx(values)


@pytest.mark.parametrize(
    ("kind", "limit", "expected"),
    [
        ("max_disparity", 0.4, "perfect"),
        ("max_disparity", 0.39, "fewer_m"),
        ("max_disparity", 0.2, "fewer_m"),
        ("max_disparity", 0.1, "equal"),
        ("max_performance_loss", 0.05, "perfect"),
        ("max_performance_loss", 0.1, "fewer_m"),
        ("max_performance_loss", 0.15, "fewer_m"),
        ("max_performance_loss", 0.2, "equal"),
    ],
)
def test_a_limit_chooses_the_candidate_derived_by_hand(
    kind: str, limit: float, expected: str
) -> None:
    selection = rv.select_candidate(hand_tradeoff(), kind, limit)
    assert selection.candidate is not None
    assert selection.candidate.name == expected
    assert selection.text.startswith(expected)


def test_who_pays_is_in_points_against_the_baseline() -> None:
    selection = rv.select_candidate(hand_tradeoff(), "max_disparity", 0.0)
    table = selection.groups.set_index("group")
    # equal against perfect: F accuracy 1.0 → 0.8 (20 of 100 wrong): −20 points; M → 0.8: −20.
    assert table.loc["F", "Δ accuracy (points)"] == pytest.approx(-20.0)
    assert table.loc["M", "Δ accuracy (points)"] == pytest.approx(-20.0)
    # selection rate F .2 → .4 (+20 points), M .6 → .4 (−20 points)
    assert table.loc["F", "Δ selection_rate (points)"] == pytest.approx(20.0)
    assert table.loc["M", "Δ selection_rate (points)"] == pytest.approx(-20.0)
    assert rv.candidate_changes(hand_tradeoff(), selection.candidate) == (
        "-20.0 points",
        "-40.0 points",
    )


def test_no_candidate_within_the_limit_is_said() -> None:
    t = hand_tradeoff()
    t = replace(t, candidates=tuple(c for c in t.candidates if c.name != "equal"))
    selection = rv.select_candidate(t, "max_disparity", 0.1)
    assert selection.candidate is None
    assert selection.text == "No candidate has a demographic_parity_difference of at most 0.1."
    assert selection.groups.empty


def test_limits_are_refused_loudly() -> None:
    with pytest.raises(ValueError, match="'kind' of a limit"):
        rv.select_candidate(hand_tradeoff(), "max_fun", 0.1)
    with pytest.raises(ValueError, match="finite number >= 0"):
        rv.select_candidate(hand_tradeoff(), "max_disparity", math.nan)


def test_the_slider_starts_on_the_recorded_choice(review_bundles: Path) -> None:
    t = rv.open_review(review_bundles / "german").tradeoff
    assert t is not None
    values = [c.disparity.value for c in t.candidates if not math.isnan(c.disparity.value)]
    low, high, start = rv.limit_range(t, "max_disparity")
    assert (low, high) == (min(values), max(values))
    # On 300 held-out rows no candidate passes the policy with confidence: nothing was chosen,
    # and the slider starts at the top (every candidate admitted).
    assert t.chosen is None
    assert start == high
    chosen = t.candidates[1]
    assert rv.limit_range(replace(t, chosen=chosen.name), "max_disparity")[2] == (
        chosen.disparity.value
    )
    low, high, start = rv.limit_range(hand_tradeoff(), "max_performance_loss")
    assert (low, high) == pytest.approx((0.0, 0.2))  # equal loses 1.0 − 0.8


# -- Charts are valid Vega-Lite ----------------------------------------------------------------


@cache
def vega_lite_validator() -> Any:
    import altair
    import jsonschema

    schema_file = next(
        Path(altair.__file__).parent.glob("vegalite/v*/schema/vega-lite-schema.json")
    )
    return jsonschema.Draft7Validator(json.loads(schema_file.read_text()))


def test_every_chart_is_a_valid_vega_lite_spec(review_bundles: Path) -> None:
    review = rv.open_review(review_bundles / "german")
    assert review.tradeoff is not None
    charts = [spec for _, spec in rv.criteria_charts(review)]
    charts.append(rv.group_chart(review, "sex × age_group", "selection_rate"))
    selection = rv.select_candidate(review.tradeoff, "max_disparity", 0.1)
    charts.append(rv.frontier_chart(review.tradeoff, selection))
    for spec in charts:
        json.dumps(spec, allow_nan=False)  # no NaN: JSON has none
        errors = list(vega_lite_validator().iter_errors(spec))
        assert errors == [], errors[0].message if errors else ""


# -- Compare -----------------------------------------------------------------------------------


@cache
def parity_audits() -> tuple[Any, Any]:
    """Before: selection rate F = M = 0.5 (difference 0). Now: F 0.2, M 0.8 (difference 0.6).

    400 rows per group, so the two differences' intervals cannot overlap.
    """
    sex = ["F"] * 400 + ["M"] * 400
    y_true = [1, 0] * 400
    before = [1, 0] * 400
    now = ([1] * 80 + [0] * 320) + ([1] * 320 + [0] * 80)
    options = AuditOptions()
    return (
        audit_predictions(y_true, before, sensitive_features={"sex": sex}, options=options),
        audit_predictions(y_true, now, sensitive_features={"sex": sex}, options=options),
    )


def test_compare_finds_what_got_worse(tmp_path: Path) -> None:
    b, a = parity_audits()
    before = rv.open_review(write_bundle(b, tmp_path / "before"))
    now = rv.open_review(write_bundle(a, tmp_path / "now"))
    table = rv.compare_disparities(before, now)
    # What got clearly worse comes first, then what merely moved away from parity.
    assert list(table["clearly worse"]) == sorted(table["clearly worse"], reverse=True)
    assert list(table["worse"][~table["clearly worse"]]) == sorted(
        table["worse"][~table["clearly worse"]], reverse=True
    )
    top = table[(table["metric"] == "selection_rate") & (table["measure"] == "difference")].iloc[0]
    assert (top["before"], top["now"]) == pytest.approx((0.0, 0.6))
    assert top["change"] == pytest.approx(0.6)
    assert top["worse"]
    assert top["clearly worse"]
    ratio = table[(table["metric"] == "selection_rate") & (table["measure"] == "ratio")].iloc[0]
    assert ratio["now"] == pytest.approx(0.25)
    assert ratio["worse"]
    level, text = rv.comparison_summary(table)
    assert level == "error"
    assert text.startswith(f"{int(table['clearly worse'].sum())} disparities got clearly worse")
    assert "selection rate ratio on sex" in text
    groups = rv.compare_groups(before, now, "sex", "selection_rate").set_index("group")
    assert groups.loc["F", "change"] == pytest.approx(-0.3)  # 0.5 → 0.2
    assert groups.loc["M", "change"] == pytest.approx(0.3)
    assert groups["worse"].isna().all()  # a selection rate has no better direction
    accuracy = rv.compare_groups(before, now, "sex", "accuracy").set_index("group")
    # F now: 80 predicted 1 on rows alternating 1,0 → 40 right among them + 160 right zeros
    assert accuracy.loc["F", "now"] == pytest.approx((40 + 160) / 400)
    assert accuracy.loc["F", "worse"]  # accuracy 1.0 → 0.5
    assert rv.compare_disparities(now, now)["worse"].sum() == 0
    assert rv.comparison_summary(rv.compare_disparities(now, now))[0] == "success"


def test_compare_warns_when_the_audits_are_not_comparable(
    review_bundles: Path, tmp_path: Path
) -> None:
    german = rv.open_review(review_bundles / "german")
    b, _ = parity_audits()
    other = rv.open_review(write_bundle(b, tmp_path / "other"))
    problems = rv.comparability(other, german)
    assert any("different data" in p for p in problems)
    assert any("audited in only one of them: age_group" in p for p in problems)
    assert rv.comparability(german, german) == []


def test_baselines_put_the_same_data_and_approved_audits_first(
    review_bundles: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "bundles"
    folder.mkdir()
    for name in ("german", "german-reaudit"):
        copy(review_bundles / name, folder)
    b, _ = parity_audits()
    write_bundle(b, folder / "unrelated")  # newest, but of other data
    entries = rv.find_bundles(folder)
    now = rv.open_review(folder / "german-reaudit")
    assert [e.name for e in rv.baselines(now, entries, {})] == ["german", "unrelated"]


# -- Sign-off ----------------------------------------------------------------------------------


def test_only_a_signed_in_signer_can_sign(review_bundles: Path, tmp_path: Path) -> None:
    review = rv.open_review(review_bundles / "german")
    store = SignoffStore(tmp_path / "s.db")
    for who, message in ((None, "Nobody is signed in"), (VIC, "Victor Viewer \\(vic\\) may view")):
        with pytest.raises(SignoffError, match=message):
            rv.record_signoff(store, review, who, decision="approve")
    assert store.records() == []
    record = rv.record_signoff(store, review, ADA, decision="approve", expiry="2027-11-25")
    assert (record.reviewer, record.role) == ("Ada Lovelace (ada)", "chair")
    assert record.manifest_sha256 == review.manifest_sha256
    status = rv.signoff_status(review, store.records(review.audit_id), today=TODAY)
    assert status["status"] == "Approved"
    assert status["decision"] == "approve"


def test_a_bundle_changed_after_opening_is_not_signed(review_bundles: Path, tmp_path: Path) -> None:
    bundle = copy(review_bundles / "german-reaudit", tmp_path)
    review = rv.open_review(bundle)
    write_bundle(rv.open_review(review_bundles / "german").result, bundle)  # rewritten since
    store = SignoffStore(tmp_path / "s.db")
    with pytest.raises(SignoffError, match="rewritten after it was opened"):
        rv.record_signoff(store, review, ADA, decision="approve")
    (bundle / "result.json").write_text("{}")  # and now altered outright
    with pytest.raises(SignoffError, match="no longer verifies"):
        rv.record_signoff(store, review, ADA, decision="approve")
    assert store.records() == []


def test_standing_decisions_per_audit(review_bundles: Path, tmp_path: Path) -> None:
    entries = rv.find_bundles(review_bundles)
    store = SignoffStore(tmp_path / "s.db")
    german = rv.open_review(review_bundles / "german")
    first = rv.record_signoff(store, german, ADA, decision="approve")
    reaudit = rv.open_review(review_bundles / "german-reaudit")
    decisions = rv.standing_decisions(store, entries, today=TODAY)
    assert decisions == {german.audit_id: "approve", reaudit.audit_id: None}
    rv.record_signoff(store, german, ADA, decision="revoke", revokes=first.seq)
    assert rv.standing_decisions(store, entries, today=TODAY)[german.audit_id] is None


@pytest.mark.slow
def test_the_exported_report_holds_the_signoffs_and_the_chain(
    review_bundles: Path, tmp_path: Path
) -> None:
    review = rv.open_review(review_bundles / "german")
    store = SignoffStore(tmp_path / "s.db")
    record = rv.record_signoff(
        store, review, ADA, decision="approve_with_conditions",
        conditions="Re-audit after the next retraining", expiry="2027-05-31",
    )  # fmt: skip
    rendered = rv.export_report(review, store, tmp_path / "report.pdf")
    text = " ".join(page.extract_text() for page in PdfReader(rendered.path).pages)
    text = " ".join(text.split())
    assert "Ada Lovelace (ada)" in text
    assert "Re-audit after the next retraining" in text
    assert record.hash in text  # the chain's head, in full
    assert record.hash[:16] in text
    assert "intact" in text


# -- Uploads -----------------------------------------------------------------------------------


def zipped(folder: Path, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, prefix + str(path.relative_to(folder)))
    return buffer.getvalue()


def test_an_uploaded_bundle_is_unpacked_and_verified(review_bundles: Path, tmp_path: Path) -> None:
    data = zipped(review_bundles / "german-reaudit", prefix="german-reaudit/")
    root = rv.unpack_bundle(data, tmp_path / "up")
    assert root == tmp_path / "up" / "german-reaudit"
    assert (
        rv.open_review(root).audit_id == rv.open_review(review_bundles / "german-reaudit").audit_id
    )
    flat = rv.unpack_bundle(zipped(review_bundles / "german-reaudit"), tmp_path / "flat")
    assert flat == tmp_path / "flat"


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../evil.txt": b"x"}, "unsafe path '../evil.txt'"),
        ({"/etc/evil": b"x"}, "unsafe path '/etc/evil'"),
        ({"readme.txt": b"x"}, "no audit bundle"),
        ({f"f{i}": b"" for i in range(MAX_UPLOAD_FILES + 1)}, "at most 200"),
    ],
)
def test_hostile_uploads_are_refused(
    members: dict[str, bytes], message: str, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    with pytest.raises(BundleError, match=message):
        rv.unpack_bundle(buffer.getvalue(), tmp_path / "up")
    assert not (tmp_path / "evil.txt").exists()


def test_a_non_zip_or_tampered_upload_is_refused(review_bundles: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a zip"):
        rv.unpack_bundle(b"PK not really", tmp_path / "a")
    bundle = copy(review_bundles / "german-reaudit", tmp_path)
    (bundle / "spec.toml").write_text("tampered = true\n")
    with pytest.raises(BundleError, match=r"spec\.toml"):
        rv.unpack_bundle(zipped(bundle), tmp_path / "b")
