"""The review app (app.py) through Streamlit's AppTest: every page, sign-in and signing.

AppTest runs the real script with simulated widgets (no browser; see test_app_browser.py for
the real one). Pages defined by functions are opened by their URL path, as a browser would.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from audit import criterion_notes
from fairtrail import review as rv
from fairtrail.identity import add_user
from fairtrail.signoff import SignoffStore

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 60


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    add_user(path, "ada", "correct horse battery", name="Ada Lovelace", role="Ethics chair")
    add_user(path, "vic", "viewer password", name="Victor Viewer", role="observer",
             may_sign=False)  # fmt: skip
    return path


@pytest.fixture
def app(
    review_bundles: Path, users_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    monkeypatch.setenv("FAIRTRAIL_BUNDLES", str(review_bundles))
    monkeypatch.setenv("FAIRTRAIL_SIGNOFFS", str(tmp_path / "signoffs.db"))
    monkeypatch.setenv("FAIRTRAIL_USERS", str(users_file))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def goto(at: AppTest, url_path: str) -> AppTest:
    """Open a page as a browser does: by its URL path (st.Page hashes it)."""
    at._page_hash = calc_hash(url_path)  # AppTest.switch_page only takes page files
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_bundle(at: AppTest, name: str) -> AppTest:
    at.selectbox(key="bundle_choice").set_value(name)
    at.button(key="open_bundle").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.sidebar.button[0].click().run()  # the form's submit button
    return at


def markdown_sources(at: AppTest) -> list[str]:
    """Every piece of markdown the page sent, as written (escapes included)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("info", "warning", "error", "success") for e in at.get(kind)]
    parts += [str(h.value) for h in at.subheader] + [str(t.value) for t in at.title]
    return parts


def texts(at: AppTest) -> str:
    """The page's text as a reader sees it (markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(markdown_sources(at)))


def test_audits_lists_the_bundles_and_opens_one(app: AppTest, review_bundles: Path) -> None:
    table = app.dataframe[0].value
    assert sorted(table["bundle"]) == ["german", "german-reaudit"]
    assert set(table["integrity"]) == {"verified"}
    open_bundle(app, "german")
    assert app.title[0].value == "Overview"
    assert app.session_state["bundle"] == str(review_bundles / "german")


def test_every_page_asks_for_a_bundle_first(app: AppTest) -> None:
    for page in ("overview", "provenance", "groups", "tradeoff", "compare", "signoff"):
        goto(app, page)
        assert "No audit is open" in texts(app)


def test_overview_shows_the_verdicts_and_the_decision(app: AppTest, review_bundles: Path) -> None:
    open_bundle(app, "german")
    review = rv.open_review(review_bundles / "german")
    metrics = {m.label: m.value for m in app.metric}
    verdicts = [c.verdict for c in review.result.criteria]
    assert metrics["Criteria passed"] == str(verdicts.count("pass"))
    assert metrics["Inconclusive"] == str(verdicts.count("inconclusive"))
    assert metrics["Decision"] == "Awaiting sign-off"
    assert f"Audit verdict: **{review.result.status}**" in texts(app)
    assert len(app.get("vega_lite_chart")) == len(rv.criteria_charts(review))
    criteria = app.dataframe[0].value
    assert list(criteria["criterion"]) == [c.criterion for c in review.result.criteria]
    # The interval shown is the one that decided; what is left out, and what more data would
    # decide, is in each criterion's meaning.
    for c, (interval, meaning) in zip(
        review.result.criteria, zip(criteria["interval"], criteria["meaning"], strict=True),
        strict=True,
    ):  # fmt: skip
        if c.estimate.defined:
            assert interval == f"[{c.estimate.lower:.3f}, {c.estimate.upper:.3f}]"
        for note in criterion_notes(c):
            assert note in meaning


def test_provenance_shows_the_steps_graph_and_datasets(app: AppTest) -> None:
    open_bundle(app, "german")
    goto(app, "provenance")
    assert [re.sub(r"\\(.)", r"\1", e.label) for e in app.main.expander] == [
        "german_income_model.prepare_and_train.drop_missing",
        "german_income_model.prepare_and_train.predict",
        "german_income_model.prepare_and_train.split",
    ]
    assert len(app.get("image")) == 1  # the lineage graph
    datasets = app.dataframe[-1].value
    assert "german.csv.gz" in " ".join(datasets["name"])


def test_groups_filters_sorts_and_marks_small_groups(app: AppTest, review_bundles: Path) -> None:
    open_bundle(app, "german")
    goto(app, "groups")
    app.selectbox(key="groups_attribute").set_value("sex × age_group").run()
    table = app.dataframe[0].value
    expected = rv.group_table(
        rv.open_review(review_bundles / "german"), "sex × age_group", ["base_rate"]
    )
    assert sorted(table["group"]) == sorted(expected["group"])
    n_small = int(expected["small"].sum())
    assert n_small > 0  # 300 held-out rows: some intersections have fewer than 30
    assert f"{n_small} group(s) have fewer than 30 rows" in texts(app)
    app.toggle(key="groups_small").set_value(True).run()
    assert app.dataframe[0].value["small"].all()
    assert len(app.dataframe[0].value) == n_small
    app.toggle(key="groups_small").set_value(False)
    app.text_input(key="groups_filter").input("female").run()
    assert all("female" in g.lower() for g in app.dataframe[0].value["group"])
    app.text_input(key="groups_filter").input("")
    app.selectbox(key="groups_sort").set_value("count").run()
    counts = list(app.dataframe[0].value["count"])
    assert counts == sorted(counts, reverse=True)
    assert app.get("download_button")  # the CSV (its bytes are tested in test_review)


def test_the_tradeoff_slider_chooses_what_the_package_chooses(
    app: AppTest, review_bundles: Path
) -> None:
    open_bundle(app, "german")
    goto(app, "tradeoff")
    t = rv.open_review(review_bundles / "german").tradeoff
    assert t is not None
    for limit in sorted({c.disparity.value for c in t.candidates})[:3]:
        app.slider(key="tradeoff_limit_max_disparity").set_value(limit).run()
        expected = rv.select_candidate(t, "max_disparity", limit).candidate
        chosen = {m.label: m.value for m in app.metric}["Would be chosen"]
        assert chosen == (expected.name if expected else "none")
    app.segmented_control(key="tradeoff_kind").set_value("max_performance_loss").run()
    app.slider(key="tradeoff_limit_max_performance_loss").set_value(0.0).run()
    assert {m.label: m.value for m in app.metric}["Would be chosen"] == t.baseline


def test_a_bundle_without_a_tradeoff_says_so(app: AppTest) -> None:
    open_bundle(app, "german-reaudit")
    goto(app, "tradeoff")
    assert "no mitigation trade-off" in texts(app)


def test_compare_shows_every_disparity_change(app: AppTest, review_bundles: Path) -> None:
    open_bundle(app, "german-reaudit")
    goto(app, "compare")
    assert app.selectbox(key="compare_with").value == "german"
    before = rv.open_review(review_bundles / "german")
    now = rv.open_review(review_bundles / "german-reaudit")
    expected = rv.compare_disparities(before, now)
    shown = app.dataframe[1].value
    assert list(shown["metric"]) == list(expected["metric"])
    assert rv.comparison_summary(expected)[1] in texts(app)
    app.selectbox(key="compare_metric").set_value("selection_rate").run()
    per_group = app.dataframe[2].value
    assert list(per_group["group"]) == list(
        rv.compare_groups(before, now, "sex", "selection_rate")["group"]
    )


def test_a_wrong_password_is_refused(app: AppTest) -> None:
    sign_in(app, "ada", "wrong")
    assert "Unknown user or wrong password." in [e.value for e in app.sidebar.error]
    assert "reviewer" not in app.session_state
    sign_in(app, "mallory", "anything")
    assert "Unknown user or wrong password." in [e.value for e in app.sidebar.error]


def test_a_viewer_may_look_but_not_sign(app: AppTest, tmp_path: Path) -> None:
    open_bundle(app, "german")
    sign_in(app, "vic", "viewer password")
    goto(app, "signoff")
    assert "Victor Viewer may view this audit but not sign it." in texts(app)
    assert not app.get("form") or "decision" not in [f.key for f in app.get("form")]
    assert SignoffStore(tmp_path / "signoffs.db").records() == []


def test_nobody_signed_in_cannot_sign(app: AppTest) -> None:
    open_bundle(app, "german")
    goto(app, "signoff")
    assert "Sign in (sidebar) to record a decision" in texts(app)
    assert "Decision status: Awaiting sign-off" in texts(app)


def test_a_reviewer_signs_and_the_decision_is_recorded(
    app: AppTest, review_bundles: Path, tmp_path: Path
) -> None:
    open_bundle(app, "german")
    sign_in(app, "ada", "correct horse battery")
    assert "**Ada Lovelace** · Ethics chair" in texts(app)
    goto(app, "signoff")
    app.radio(key="decision").set_value("approve_with_conditions")
    app.date_input(key="expiry").set_value(date(2027, 6, 30))
    app.checkbox(key="confirm").check()
    app.button(key="FormSubmitter:decision-Record decision").click().run()
    assert "An 'approve_with_conditions' sign-off needs its conditions." in texts(app)
    store = SignoffStore(tmp_path / "signoffs.db")
    assert store.records() == []
    app.text_area(key="conditions").input("Re-audit after retraining")
    app.text_area(key="comment").input("Small groups need more data.")
    app.button(key="FormSubmitter:decision-Record decision").click().run()
    (record,) = store.records()
    review = rv.open_review(review_bundles / "german")
    assert (record.audit_id, record.manifest_sha256) == (review.audit_id, review.manifest_sha256)
    assert (record.reviewer, record.role) == ("Ada Lovelace (ada)", "Ethics chair")
    assert (record.decision, record.conditions, record.expiry) == (
        "approve_with_conditions", "Re-audit after retraining", "2027-06-30"
    )  # fmt: skip
    assert f"Recorded as #1 (hash `{record.hash[:16]}…`)." in texts(app)
    assert "Decision status: Approved with conditions" in texts(app)
    shown = app.dataframe[0].value
    assert list(shown["reviewer"]) == ["Ada Lovelace (ada)"]
    assert list(shown["hash"]) == [record.hash[:16]]
    assert not app.checkbox(key="confirm").value  # a second decision needs a new confirmation

    # Revoking is a new record naming the old one; the status falls back to awaiting.
    app.selectbox(key="revoke_seq").set_value(1)
    app.text_area(key="revoke_reason").input("Signed the wrong version")
    app.checkbox(key="revoke_confirm").check()
    app.button(key="FormSubmitter:revoke-Revoke").click().run()
    first, revocation = store.records()
    assert (revocation.decision, revocation.revokes, revocation.prev_hash) == (
        "revoke", 1, first.hash
    )  # fmt: skip
    assert "Recorded the revocation of #1 as #2." in texts(app)
    assert "Decision status: Awaiting sign-off" in texts(app)
    assert "revoked by #2" in list(app.dataframe[0].value["note"])
    assert store.verify() == []


def test_an_unconfirmed_decision_is_not_recorded(app: AppTest, tmp_path: Path) -> None:
    open_bundle(app, "german")
    sign_in(app, "ada", "correct horse battery")
    goto(app, "signoff")
    app.button(key="FormSubmitter:decision-Record decision").click().run()
    assert "Tick the confirmation to record a decision." in texts(app)
    assert SignoffStore(tmp_path / "signoffs.db").records() == []


def test_a_tampered_store_is_shown_as_such(app: AppTest, tmp_path: Path) -> None:
    import sqlite3

    open_bundle(app, "german")
    store = SignoffStore(tmp_path / "signoffs.db")
    review = rv.open_review(Path(app.session_state["bundle"]))
    store.record(review.audit_id, review.manifest_sha256, reviewer="Ada", role="chair",
                 decision="approve")  # fmt: skip
    db = sqlite3.connect(tmp_path / "signoffs.db")
    db.executescript("DROP TRIGGER signoffs_no_update; UPDATE signoffs SET decision = 'reject';")
    db.close()
    goto(app, "signoff")
    assert "The sign-off records were tampered with" in texts(app)
    assert "record 1 was edited" in texts(app)


def test_fairtrail_app_refuses_a_missing_folder_and_binds_loopback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fairtrail._cli_app import APP_SETTINGS, streamlit_command
    from fairtrail.cli import cli

    result = CliRunner().invoke(cli, ["app", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    command = streamlit_command(8501)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    shipped = (APP.parent / ".streamlit" / "config.toml").read_text()
    import tomllib

    config = tomllib.loads(shipped)
    for key, value in APP_SETTINGS.items():  # the CLI and the shipped config agree
        section, name = key.split(".")
        assert str(config[section][name]).lower() == value, key


@pytest.fixture
def oidc_app(review_bundles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """Single sign-on configured: [auth] in the secrets, the signers listed by e-mail."""
    users = tmp_path / "users.toml"
    users.write_text('[oidc.reviewers]\n"grace@example.org" = "Data protection officer"\n')
    monkeypatch.setenv("FAIRTRAIL_BUNDLES", str(review_bundles))
    monkeypatch.setenv("FAIRTRAIL_SIGNOFFS", str(tmp_path / "signoffs.db"))
    monkeypatch.setenv("FAIRTRAIL_USERS", str(users))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "not-a-real-secret",
        "client_id": "fairtrail",
        "client_secret": "not-a-real-secret",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration",
    }
    return at


def test_single_sign_on_offers_its_button_when_configured(oidc_app: AppTest) -> None:
    oidc_app.user = {"is_logged_in": False}
    oidc_app.run()
    assert "sso" in [b.key for b in oidc_app.sidebar.button]
    assert "reviewer" not in oidc_app.session_state


def test_a_listed_sso_reviewer_signs_an_unlisted_one_views(oidc_app: AppTest) -> None:
    oidc_app.user = {"is_logged_in": True, "email": "grace@example.org", "email_verified": True,
                     "name": "Grace Hopper"}  # fmt: skip
    oidc_app.run()
    open_bundle(oidc_app, "german")
    goto(oidc_app, "signoff")
    assert "Signing as **Grace Hopper** (Data protection officer)" in texts(oidc_app)

    oidc_app.session_state["reviewer"] = None  # a new session, someone else
    oidc_app.user = {"is_logged_in": True, "email": "mallory@example.org", "name": "Mallory"}
    oidc_app.run()
    assert "Mallory may view this audit but not sign it." in texts(oidc_app)


def zipped(folder: Path) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return buffer.getvalue()


def test_an_uploaded_bundle_is_verified_and_opened(app: AppTest, review_bundles: Path) -> None:
    data = zipped(review_bundles / "german-reaudit")
    app.file_uploader(key="upload").set_value(("bundle.zip", data, "application/zip")).run()
    assert not app.exception
    assert "Uploaded and verified: audit german-reaudit." in texts(app)
    opened = Path(app.session_state["bundle"])
    assert (
        rv.open_review(opened).audit_id
        == rv.open_review(review_bundles / "german-reaudit").audit_id
    )
    app.run()  # a rerun with the file still in the widget unpacks nothing again
    assert app.session_state["bundle"] == str(opened)
    goto(app, "overview")
    assert app.title[0].value == "Overview"


def test_a_hostile_upload_is_refused(app: AppTest) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("../../escape.txt", "x")
    app.file_uploader(key="upload").set_value(("evil.zip", buffer.getvalue(), "application/zip"))
    app.run()
    assert "unsafe path '../../escape.txt'" in texts(app)
    assert "bundle" not in app.session_state


def test_names_from_data_are_shown_not_rendered(
    app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An attribute named like a markdown link, colour directive and tag stays text."""
    from audit import AuditOptions, Policy, Threshold, audit_predictions, write_bundle

    hostile = "[sex](http://evil.example/x) :red[alarm] <b>$x$</b>"
    groups = ["F"] * 200 + ["M"] * 200
    result = audit_predictions(
        [1, 0] * 200, [1] * 40 + [0] * 160 + [1] * 160 + [0] * 40,
        sensitive_features={hostile: groups},
        policy=Policy((Threshold("demographic_parity_difference", 0.1),)),
        options=AuditOptions(),
    )  # fmt: skip
    folder = tmp_path / "hostile"
    write_bundle(result, folder / "bundle")
    monkeypatch.setenv("FAIRTRAIL_BUNDLES", str(folder))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    open_bundle(at, "bundle")
    assert f"demographic_parity_difference on {hostile}: fail" in texts(at)
    for source in markdown_sources(at):
        assert not re.search(r"(?<!\\)\]\(http", source), source  # no live link
        assert not re.search(r"(?<!\\):red\[", source), source  # no colour directive
        assert not re.search(r"(?<!\\)<b>", source), source
