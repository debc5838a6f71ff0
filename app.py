"""fairtrail review app: explore an audit bundle, compare re-audits, and sign off.

Run with ``fairtrail app [BUNDLE_DIR]`` (or ``streamlit run app.py``); it binds 127.0.0.1.
This file is a shell: every page is widgets → one call into :mod:`fairtrail.review` →
display. Configuration comes from the environment (set by ``fairtrail app``) or from
``.streamlit/secrets.toml``:

- ``FAIRTRAIL_BUNDLES`` / ``[fairtrail] bundles``: the folder of bundles (default: ``.``);
- ``FAIRTRAIL_SIGNOFFS`` / ``[fairtrail] signoffs``: the sign-off store, a SQLite file or a
  ``postgresql://`` URL (default: ``signoffs.db`` in the bundle folder);
- ``FAIRTRAIL_USERS`` / ``[users.<name>]`` in secrets: reviewers with salted password hashes
  (``fairtrail users add``); ``[auth]`` in secrets turns on single sign-on (``st.login``).

Viewing is open; signing needs a signed-in reviewer with signing rights.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from audit import Bundle, FairtrailError
from fairtrail import identity
from fairtrail import review as rv
from fairtrail.signoff import SignoffError, SignoffStore

VERDICT_ICON = {
    "pass": ":material/check_circle:",
    "fail": ":material/cancel:",
    "inconclusive": ":material/help:",
    "no_policy": ":material/remove:",
}
DECISION_LABEL = {
    "approve": "Approve",
    "approve_with_conditions": "Approve with conditions",
    "reject": "Reject",
}


# -- configuration, cached resources -----------------------------------------------------------


def _secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except (FileNotFoundError, KeyError, st.errors.StreamlitSecretNotFoundError):
        return {}


def _setting(env: str, key: str, default: str) -> str:
    section = _secrets().get("fairtrail", {})
    return os.environ.get(env) or str(section.get(key, "")) or default


def _bundles_folder() -> Path:
    return Path(_setting("FAIRTRAIL_BUNDLES", "bundles", ".")).expanduser()


@st.cache_resource(show_spinner=False)
def _store(target: str) -> SignoffStore:
    return SignoffStore(target)


def _signoff_store() -> SignoffStore:
    default = str(_bundles_folder() / "signoffs.db")
    return _store(_setting("FAIRTRAIL_SIGNOFFS", "signoffs", default))


@st.cache_resource(show_spinner="Verifying the bundle…", max_entries=16)
def _open(path: str, stamp: tuple[int, int]) -> rv.Review:
    """A verified bundle, kept while its manifest is unchanged (``stamp``)."""
    return rv.open_review(path)


@st.cache_resource(show_spinner="Unpacking and verifying the upload…", max_entries=8)
def _unpacked(digest: str, _data: bytes) -> tuple[Path | None, str | None]:
    """An uploaded zip, unpacked once although every rerun sees the widget's file.

    Returns ``(bundle, None)``, or ``(None, why it was refused)``, leaving nothing on disk.
    """
    into = Path(tempfile.mkdtemp(prefix=f"fairtrail-upload-{digest[:12]}-"))
    try:
        return rv.unpack_bundle(_data, into), None
    except FairtrailError as exc:
        shutil.rmtree(into, ignore_errors=True)
        return None, str(exc)


def _stamp(path: Path) -> tuple[int, int]:
    stat = (path / Bundle.MANIFEST).stat()
    return stat.st_mtime_ns, stat.st_size


@st.cache_data(show_spinner="Checking the bundles…", ttl=60, max_entries=8)
def _entries(folder: str, listing: tuple[str, ...]) -> list[rv.BundleEntry]:
    return rv.find_bundles(folder)


def _listing(folder: Path) -> tuple[str, ...]:
    try:
        return tuple(sorted(f"{p.name}:{_stamp(p)}" for p in folder.iterdir() if p.is_dir()))
    except OSError:
        return ()


@st.cache_data(show_spinner=False, max_entries=16)
def _provenance(path: str, manifest_sha256: str) -> dict[str, Any]:
    return rv.provenance(_current_or_open(path))


def _current_or_open(path: str) -> rv.Review:
    return _open(path, _stamp(Path(path)))


def _review() -> rv.Review | None:
    """The opened bundle, or None (with a pointer to the Audits page)."""
    path = st.session_state.get("bundle")
    if not path:
        st.info(
            "No audit is open. Choose one on the **Audits** page.", icon=":material/folder_open:"
        )
        st.page_link(PAGES["audits"], label="Go to Audits", icon=":material/folder_open:")
        return None
    try:
        return _current_or_open(path)
    except (FairtrailError, OSError) as exc:
        st.error(f"The bundle cannot be shown: {_md(str(exc))}", icon=":material/error:")
        return None


def _users() -> identity.Users | None:
    secrets = _secrets()
    path = os.environ.get("FAIRTRAIL_USERS")
    try:
        if path:
            return identity.load_users(path)
        if "users" in secrets:
            return identity.users_from_mapping(secrets, source="secrets.toml")
        default = identity.default_users_path()
        return identity.load_users(default) if default.is_file() else None
    except identity.IdentityError as exc:
        st.sidebar.error(str(exc))
        return None


# -- sign-in (sidebar) ---------------------------------------------------------------------------


def _reviewer() -> identity.Reviewer | None:
    reviewer: identity.Reviewer | None = st.session_state.get("reviewer")
    if reviewer is None and "auth" in _secrets() and st.user.is_logged_in:
        users = _users()
        reviewer = identity.reviewer_from_claims(
            st.user.to_dict(), users.oidc_reviewers if users else {}
        )
        st.session_state["reviewer"] = reviewer
    return reviewer


def _sign_in_panel() -> None:
    reviewer = _reviewer()
    with st.sidebar:
        if reviewer is not None:
            rights = "may sign" if reviewer.may_sign else "may view only"
            st.markdown(f"**{_md(reviewer.name)}** · {_md(reviewer.role)}  \n:gray[{rights}]")
            if st.button("Sign out", key="sign_out"):
                st.session_state.pop("reviewer", None)
                if reviewer.source == "oidc":
                    st.logout()
                st.rerun()
            return
        with st.expander("Sign in to sign off", expanded=False, icon=":material/lock:"):
            with st.form("sign_in", clear_on_submit=True, border=False):
                username = st.text_input("Username", key="sign_in_username")
                password = st.text_input("Password", type="password", key="sign_in_password")
                submitted = st.form_submit_button("Sign in", type="primary")
            if submitted:
                users = _users()
                found = identity.authenticate(users, username, password) if users else None
                if found is None:
                    time.sleep(0.5)  # slows password guessing; the hash already costs ~50 ms
                    st.error("Unknown user or wrong password.", icon=":material/block:")
                else:
                    st.session_state["reviewer"] = found
                    st.rerun()
            if "auth" in _secrets():
                st.button("Sign in with single sign-on", on_click=st.login, key="sso")


# -- pages -----------------------------------------------------------------------------------------


def audits_page() -> None:
    """The bundles of the folder with their status; open one, or upload one."""
    st.title("Audits")
    folder = _bundles_folder()
    st.caption(f"Bundles in {_md(str(folder.resolve()))}")
    try:
        entries = _entries(str(folder), _listing(folder))
    except FairtrailError as exc:
        st.error(_md(str(exc)), icon=":material/error:")
        entries = []
    if entries:
        table = pd.DataFrame(
            [
                {
                    "bundle": e.name,
                    "status": e.status,
                    "created": e.created_at.replace("T", " ")[:16],
                    "integrity": "verified" if e.intact else e.problems[0],
                    "trade-off": "yes" if e.has_tradeoff else "—",
                    "lineage": "yes" if e.has_lineage else "—",
                    "audit id": e.audit_id or "—",
                }
                for e in entries
            ]
        )
        st.dataframe(table, hide_index=True)
        intact = [e for e in entries if e.intact]
        names = [e.name for e in intact]
        current = Path(st.session_state.get("bundle", "")).name
        choice = st.selectbox(
            "Bundle to review",
            names,
            index=names.index(current) if current in names else 0,
            key="bundle_choice",
        )
        if st.button("Open for review", type="primary", key="open_bundle", disabled=not names):
            chosen = next(e for e in intact if e.name == choice)
            st.session_state["bundle"] = str(chosen.path)
            st.switch_page(PAGES["overview"])
        if len(intact) < len(entries):
            st.warning(
                f"{len(entries) - len(intact)} bundle(s) fail verification and cannot be opened "
                "(see the 'intact' column).",
                icon=":material/warning:",
            )
    else:
        st.info(f"No audit bundles in {_md(str(folder))}. Run `fairtrail demo` or upload one.")
    with st.expander("Upload a bundle (a .zip of the bundle folder)", icon=":material/upload:"):
        upload = st.file_uploader("Bundle zip", type=["zip"], key="upload")
        if upload is not None:
            data = upload.getvalue()
            path, error = _unpacked(hashlib.sha256(data).hexdigest(), data)
            if path is None:
                st.error(_md(error or "The upload was refused."), icon=":material/error:")
            else:
                st.session_state["bundle"] = str(path)
                st.success(
                    f"Uploaded and verified: audit {_md(path.name)}.",
                    icon=":material/check_circle:",
                )
                st.page_link(PAGES["overview"], label="Review it", icon=":material/search:")


def overview_page() -> None:
    """Verdicts per criterion with intervals, findings ranked, decision status."""
    review = _review()
    if review is None:
        return
    data = rv.overview(review)
    st.title("Overview")
    st.caption(
        f"{_md(data['source'])} · {data['n_rows']:,} rows · policy {_md(data['policy'])} · "
        f"audit {_md(review.audit_id)}"
    )
    status = data["status"]
    banner = {"pass": st.success, "fail": st.error, "inconclusive": st.warning}.get(status, st.info)
    banner(f"Audit verdict: **{status}**", icon=VERDICT_ICON.get(status, ":material/help:"))
    counts = data["counts"]
    decision = _signoff_store().decision_status(review.audit_id, review.manifest_sha256)
    cols = st.columns([1, 1, 1, 2])
    cols[0].metric("Criteria passed", counts["pass"], border=True)
    cols[1].metric("Failed", counts["fail"], border=True)
    cols[2].metric("Inconclusive", counts["inconclusive"], border=True)
    cols[3].metric("Decision", rv.status_line(decision), border=True)
    charts = rv.criteria_charts(review)
    if charts:
        st.subheader("Each criterion against its limit")
        st.caption(
            f"Point: estimate; line: {data['confidence']:.0%} interval used for the verdict; "
            "black tick: the policy's limit."
        )
        for title, chart in charts:
            st.markdown(f"**{title}**")
            st.vega_lite_chart(chart, width="stretch")
    st.subheader("Criteria")
    st.dataframe(
        data["criteria"],
        hide_index=True,
        column_config={"meaning": st.column_config.TextColumn(width="large")},
    )
    st.subheader("Findings, most severe first")
    if not data["findings"]:
        st.success("Nothing to report: every criterion passes and no preparation step skewed.")
    for f in data["findings"]:
        colour = {"high": "red", "medium": "orange"}.get(f["severity"], "blue")
        with st.container(border=True):
            st.markdown(
                f":{colour}-badge[{f['severity']}] **{f['rank']}. {_md(f['title'])}** · "
                f":gray[{_md(f['evidence'])}]"
            )
            st.markdown(_md(f["text"]))


def provenance_page() -> None:
    """The lineage graph, the datasets, and what each step did to each group."""
    review = _review()
    if review is None:
        return
    st.title("Provenance")
    data = _provenance(str(review.path), review.manifest_sha256)
    if not data["available"]:
        st.info(data["why"], icon=":material/info:")
        return
    st.caption(_md(data["summary"]))
    flagged = [s for s in data["steps"] if s["flagged"]]
    if flagged:
        st.warning(
            f"{len(flagged)} preparation step(s) removed rows unevenly across groups: "
            + ", ".join(_md(s["job"]) for s in flagged),
            icon=":material/warning:",
        )
    steps, graph, datasets = st.tabs(["Preparation steps", "Lineage graph", "Datasets"])
    with steps:
        for step in data["steps"]:
            icon = ":material/warning:" if step["flagged"] else ":material/filter_alt:"
            with st.expander(_md(step["job"]), expanded=step["flagged"], icon=icon):
                if step["description"]:
                    st.caption(_md(step["description"]))
                for flag in step["flags"]:
                    st.markdown(f"- {_md(flag['text'])}")
                _table(pd.DataFrame(step["groups"]))
    with graph:
        st.caption("Datasets (amber) and jobs (blue), from the source data to the audit.")
        st.image(data["graph_svg"], width=720)
    with datasets:
        st.caption("Digests are the first 16 hex digits of sha256; owners as recorded.")
        _table(pd.DataFrame(data["datasets"]))


def groups_page() -> None:
    """Per-group metrics with intervals: choose, filter, sort, chart, download."""
    review = _review()
    if review is None:
        return
    st.title("Groups")
    left, right = st.columns([1, 2])
    attribute = left.selectbox("Attribute", review.attributes, key="groups_attribute")
    choices = rv.metric_choices(review)
    metrics = right.multiselect(
        "Metrics", choices, default=choices[:3], key="groups_metrics", format_func=_words
    )
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    simultaneous = c1.toggle(
        "Simultaneous intervals",
        key="groups_simultaneous",
        help="Intervals that hold for all compared groups of the attribute at once (the "
        "ones every disparity's interval is built from); groups left out of a metric's "
        "comparisons have none.",
    )
    only_small = c2.toggle("Only small groups", key="groups_small")
    search = c3.text_input("Filter groups", key="groups_filter", placeholder="e.g. Female")
    if not metrics:
        st.info("Choose at least one metric.")
        return
    table = rv.group_table(review, attribute, metrics, simultaneous=simultaneous)
    if only_small:
        table = table[table["small"]]
    if search:
        table = table[table["group"].str.contains(search, case=False, regex=False)]
    sort_by = c4.selectbox(
        "Sort by", ["group", "count", *metrics], key="groups_sort", format_func=_words
    )
    table = table.sort_values(sort_by, ascending=sort_by == "group", na_position="last")
    n_small = int(table["small"].sum())
    if n_small:
        st.caption(
            f":orange-badge[small] {n_small} group(s) have fewer than "
            f"{review.result.options.min_group_size} rows: their intervals are wide and they are "
            "kept out of disparities."
        )
    config: dict[str, Any] = {
        "share": st.column_config.NumberColumn(format="percent"),
        "count": st.column_config.NumberColumn(format="localized"),
        "small": st.column_config.CheckboxColumn("small"),
    }
    confidence = f"{review.result.options.confidence_level:.0%}"
    for m in metrics:
        config[m] = st.column_config.NumberColumn(_words(m), format="%.3f")
        config[f"{m} interval"] = st.column_config.TextColumn(f"{confidence} interval")
    shown = ["group", "count", "share", "small"]
    shown += [c for m in metrics for c in (m, f"{m} interval")] + ["note"]
    st.dataframe(
        table, hide_index=True, column_config=config, column_order=shown, placeholder="undefined"
    )
    st.download_button(
        "Download this table (CSV, with interval bounds)",
        rv.csv_bytes(table),
        file_name=f"{review.audit_id}-{attribute}-groups.csv".replace(" × ", "-x-"),
        mime="text/csv",
        icon=":material/download:",
        key="groups_csv",
    )
    chart_metric = st.selectbox("Chart", metrics, key="groups_chart", format_func=_words)
    st.vega_lite_chart(rv.group_chart(review, attribute, chart_metric), width="stretch")
    st.caption("Point: estimate; line: interval; hollow orange: small group; dashed: overall.")


def tradeoff_page() -> None:
    """The mitigation frontier: a limit chooses a candidate; what it costs, who pays."""
    review = _review()
    if review is None:
        return
    st.title("Trade-off explorer")
    t = review.tradeoff
    if t is None:
        st.info("This bundle has no mitigation trade-off. Run `fairtrail mitigate` on its spec.")
        return
    perf, disp = _words(t.performance_metric), _words(t.criterion)
    st.caption(
        f"{len(t.candidates)} candidates on {t.n_test:,} held-out rows · constraint "
        f"{_md(t.constraint)} on {_md(t.attribute)} · recorded choice: {_md(t.chosen or 'none')}"
    )
    kind = st.segmented_control(
        "Limit on",
        ["max_disparity", "max_performance_loss"],
        default="max_disparity",
        format_func=lambda k: f"maximum {disp}" if k == "max_disparity" else f"{perf} loss",
        key="tradeoff_kind",
        required=True,
    )
    low, high, start = rv.limit_range(t, kind)
    step = max((high - low) / 100, 1e-4)
    label = (
        f"Maximum acceptable {disp}"
        if kind == "max_disparity"
        else f"Maximum acceptable {perf} loss against the unmitigated model"
    )
    limit = st.slider(
        label,
        min_value=float(low),
        max_value=float(high),
        value=float(start),
        step=step,
        format="%.4f",
        key=f"tradeoff_limit_{kind}",
    )
    selection = rv.select_candidate(t, kind, limit)
    c = selection.candidate
    cols = st.columns([3, 2, 2])
    cols[0].metric("Would be chosen", c.name if c else "none", border=True)
    if c is not None:
        perf_change, disp_change = rv.candidate_changes(t, c)
        cols[1].metric(
            perf,
            f"{c.performance.value:.4f}",
            delta=perf_change,
            delta_color="normal" if t.higher_is_better else "inverse",
            border=True,
        )
        cols[2].metric(
            disp, f"{c.disparity.value:.4f}", delta=disp_change, delta_color="inverse", border=True
        )
    st.markdown(_md(selection.text))
    st.vega_lite_chart(rv.frontier_chart(t, selection), width="stretch")
    st.caption(
        "Colour: the policy's verdict on held-out data; grey lines: intervals; dashed line: the "
        "Pareto front; ring: the recorded choice; purple diamond: what this limit chooses."
    )
    st.subheader(f"Who pays under {_md(c.name)}" if c else "Who pays")
    _table(
        selection.groups, placeholder="undefined", column_config=_number_formats(selection.groups)
    )
    with st.expander("Every candidate"):
        frontier = rv.frontier_table(t)
        _table(frontier, placeholder="undefined", column_config=_number_formats(frontier))
    for name, note in {**t.failures, **t.notes}.items():
        st.caption(_md(f"{name}: {note}"))


def compare_page() -> None:
    """The open audit against an earlier one: every disparity's change, what got worse."""
    review = _review()
    if review is None:
        return
    st.title("Compare")
    folder = _bundles_folder()
    try:
        entries = _entries(str(folder), _listing(folder))
    except FairtrailError:
        entries = []
    others = rv.baselines(review, entries, rv.standing_decisions(_signoff_store(), entries))
    if not others:
        st.info("Comparing needs a second intact bundle in the bundle folder.")
        return
    by_name = {e.name: e for e in others}
    choice = st.selectbox(
        "Earlier audit to compare against (same data and approved ones first)",
        list(by_name),
        key="compare_with",
    )
    before = _current_or_open(str(by_name[choice].path))
    st.caption(
        f"Earlier: {_md(before.audit_id)} ({before.result.created_at[:10]}) → now: "
        f"{_md(review.audit_id)} ({review.result.created_at[:10]})"
    )
    for problem in rv.comparability(before, review):
        st.warning(_md(problem), icon=":material/warning:")
    criteria = rv.compare_criteria(before, review)
    if not criteria.empty:
        st.subheader("Verdicts")
        _table(criteria)
    table = rv.compare_disparities(before, review)
    level, summary = rv.comparison_summary(table)
    banner = {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)
    banner(_md(summary), icon=":material/trending_down:" if level == "error" else None)
    if table.empty:
        return
    st.subheader("Every disparity, worst change first")
    fmt = st.column_config.NumberColumn(format="%.4f")
    _table(
        table,
        column_config={c: fmt for c in table.columns if c.startswith(("before", "now", "change"))},
    )
    st.download_button(
        "Download (CSV)",
        rv.csv_bytes(table),
        file_name="comparison.csv",
        mime="text/csv",
        key="compare_csv",
    )
    st.subheader("Per group")
    c1, c2 = st.columns(2)
    attribute = c1.selectbox("Attribute", review.attributes, key="compare_attribute")
    metric = c2.selectbox(
        "Metric", rv.metric_choices(review), key="compare_metric", format_func=_words
    )
    _table(rv.compare_groups(before, review, attribute, metric))


def signoff_page() -> None:
    """Decision status, earlier decisions, recording a decision, exporting the PDF."""
    review = _review()
    if review is None:
        return
    st.title("Sign-off")
    store = _signoff_store()
    try:
        status = store.decision_status(review.audit_id, review.manifest_sha256)
        chain = rv.chain_summary(store)
    except SignoffError as exc:
        st.error(f"The sign-off store cannot be read: {_md(str(exc))}", icon=":material/error:")
        return
    flash = st.session_state.pop("signoff_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    st.subheader(f"Decision status: {_md(rv.status_line(status))}")
    note = rv.status_note(status)
    if note:
        st.caption(_md(note))
    if chain["problems"]:
        st.error(
            "The sign-off records were tampered with:\n\n"
            + "\n".join(f"- {_md(p)}" for p in chain["problems"]),
            icon=":material/error:",
        )
    else:
        st.caption(
            f"{chain['records']} record{'s' * (chain['records'] != 1)} in "
            f"{_md(chain['location'])}; chain intact, head "
            f"`{chain['head'][:16]}…`"
        )
    if status.records:
        _table(
            rv.records_frame(status),
            column_config={"comment": st.column_config.TextColumn(width="large")},
        )
    else:
        st.info("No decision has been recorded for this audit yet.")

    reviewer = _reviewer()
    if reviewer is None:
        st.warning(
            "Sign in (sidebar) to record a decision. Viewing is open; signing is not.",
            icon=":material/lock:",
        )
    elif not reviewer.may_sign:
        st.warning(
            f"{_md(reviewer.name)} may view this audit but not sign it.",
            icon=":material/visibility:",
        )
    else:
        _decision_form(store, review, reviewer)
        standing = rv.revocable(status)
        if standing:
            _revoke_form(store, review, reviewer, standing)

    st.divider()
    if st.button(
        "Export the PDF report with these sign-offs", icon=":material/picture_as_pdf:", key="export"
    ):
        with st.spinner("Rendering the report…"):
            out = Path(tempfile.mkdtemp(prefix="fairtrail-report-")) / "report.pdf"
            try:
                rendered = rv.export_report(review, store, out)
            except (FairtrailError, SignoffError, OSError) as exc:
                failed = f"The report could not be written: {_md(str(exc))}"
                st.error(failed, icon=":material/error:")
            else:
                st.session_state["exported_report"] = (review.audit_id, rendered.path.read_bytes())
    export = st.session_state.get("exported_report")
    if export and export[0] == review.audit_id:
        st.download_button(
            "Download report.pdf",
            export[1],
            file_name=f"fairtrail-{review.audit_id}.pdf",
            mime="application/pdf",
            icon=":material/download:",
            key="download_report",
            type="primary",
        )


def _decision_form(store: SignoffStore, review: rv.Review, reviewer: identity.Reviewer) -> None:
    with st.form("decision", border=True):
        st.markdown(f"Signing as **{_md(reviewer.name)}** ({_md(reviewer.role)})")
        decision = st.radio(
            "Decision",
            list(DECISION_LABEL),
            format_func=DECISION_LABEL.__getitem__,
            horizontal=True,
            key="decision",
        )
        conditions = st.text_area(
            "Conditions (required to approve with conditions)", key="conditions", max_chars=2000
        )
        expiry = st.date_input(
            "Valid until",
            value=datetime.now(UTC).date() + timedelta(days=365),
            min_value=datetime.now(UTC).date(),
            key="expiry",
        )
        comment = st.text_area("Comment", key="comment", max_chars=4000)
        confirm = st.checkbox(
            f"I have reviewed audit {review.audit_id} and record this decision under my name.",
            key="confirm",
        )
        submitted = st.form_submit_button("Record decision", type="primary")
    if submitted:
        if not confirm:
            st.error("Tick the confirmation to record a decision.")
            return
        try:
            record = rv.record_signoff(
                store,
                review,
                reviewer,
                decision=decision,
                conditions=conditions,
                expiry=expiry.isoformat() if isinstance(expiry, date) else "",
                comment=comment,
            )
        except SignoffError as exc:
            st.error(_md(str(exc)), icon=":material/error:")
        else:
            _recorded(f"Recorded as #{record.seq} (hash `{record.hash[:16]}…`).")


def _recorded(message: str) -> None:
    """After a record: forget the export and the confirmation, show ``message`` on rerun."""
    st.session_state.pop("exported_report", None)
    for key in ("confirm", "revoke_confirm"):
        st.session_state.pop(key, None)
    st.session_state["signoff_flash"] = message
    st.rerun()


def _revoke_form(
    store: SignoffStore, review: rv.Review, reviewer: identity.Reviewer, standing: list[int]
) -> None:
    with st.expander("Revoke a decision", icon=":material/undo:"):
        with st.form("revoke", border=False):
            seq = st.selectbox(
                "Decision to revoke", standing, format_func="#{}".format, key="revoke_seq"
            )
            reason = st.text_area("Why", key="revoke_reason", max_chars=4000)
            confirm = st.checkbox("Record this revocation under my name.", key="revoke_confirm")
            submitted = st.form_submit_button("Revoke")
        if submitted:
            if not (confirm and reason.strip()):
                st.error("Give a reason and tick the confirmation to revoke.")
                return
            try:
                record = rv.record_signoff(
                    store, review, reviewer, decision="revoke", comment=reason, revokes=seq
                )
            except SignoffError as exc:
                st.error(_md(str(exc)), icon=":material/error:")
            else:
                _recorded(f"Recorded the revocation of #{seq} as #{record.seq}.")


def _table(frame: pd.DataFrame, placeholder: str = "—", **kwargs: Any) -> None:
    """A table; a missing value shows as ``placeholder`` (never as "None" or 0)."""
    st.dataframe(frame, hide_index=True, placeholder=placeholder, **kwargs)


def _number_formats(frame: pd.DataFrame) -> dict[str, Any]:
    """Four decimals for values; signed changes (Δ … in points: two decimals)."""
    out: dict[str, Any] = {}
    for column in frame.select_dtypes("number").columns:
        if column == "count":
            continue
        name = str(column)
        fmt = "%+.2f" if name.startswith("Δ") else "%+.4f" if name.endswith("change") else "%.4f"
        out[column] = st.column_config.NumberColumn(format=fmt)
    return out


_MARKDOWN = re.compile(r"([\\`*_\[\]<>~$:|#!{}])")


def _md(text: str) -> str:
    """``text`` shown as itself in Streamlit markdown, not rendered.

    Group, file and reviewer names come from data and users: links, images, HTML-like tags,
    colour directives (``:red[…]``), LaTeX and line breaks in them are escaped.
    """
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def _words(name: str) -> str:
    return name.replace("_", " ")


# -- navigation --------------------------------------------------------------------------------

PAGES = {
    "audits": st.Page(audits_page, title="Audits", icon=":material/folder_open:", default=True),
    "overview": st.Page(
        overview_page, title="Overview", icon=":material/dashboard:", url_path="overview"
    ),
    "provenance": st.Page(
        provenance_page, title="Provenance", icon=":material/account_tree:", url_path="provenance"
    ),
    "groups": st.Page(groups_page, title="Groups", icon=":material/groups:", url_path="groups"),
    "tradeoff": st.Page(
        tradeoff_page, title="Trade-off explorer", icon=":material/balance:", url_path="tradeoff"
    ),
    "compare": st.Page(
        compare_page, title="Compare", icon=":material/compare_arrows:", url_path="compare"
    ),
    "signoff": st.Page(signoff_page, title="Sign-off", icon=":material/draw:", url_path="signoff"),
}

st.set_page_config(page_title="fairtrail review", page_icon=":material/balance:", layout="wide")
_sign_in_panel()
if st.session_state.get("bundle"):
    st.sidebar.caption(f"Open: {_md(Path(st.session_state['bundle']).name)}")
st.navigation(list(PAGES.values())).run()
