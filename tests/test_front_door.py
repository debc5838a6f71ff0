"""The front door (``import fairtrail``: the user API, imported lazily) and the guard against
other distributions' packages named ``audit``, ``lineage`` or ``reports`` (``audit/_origin.py``,
and the front door's own check of ``audit``)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

import audit
import fairtrail
from audit._origin import HOME, Clash, check_origin, claims, clash_message, origin

REPO = Path(__file__).resolve().parents[1]

#: What the issue asks the front door to export, by the package that defines each name.
API = {
    "audit": [
        "audit_predictions",
        "run_audit",
        "load_spec",
        "parse_spec",
        "AuditOptions",
        "AuditResult",
        "Policy",
        "Threshold",
        "FairtrailError",
        "DataValidationError",
        "SpecError",
        "BundleError",
        "read_bundle",
        "verify_bundle",
        "Bundle",
    ],
    "reports": ["render_report", "verify_report"],
    "fairtrail.gate": ["assert_fair"],
    "fairtrail.signoff": ["SignoffStore"],
    "lineage": ["Tracker", "read_events", "validate_events", "build_graph", "LineageError"],
}


def run(code: str, cwd: Path, path: list[Path]) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in a fresh process, ``path`` first on the import path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, path))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


# --- the front door ---------------------------------------------------------------------------


def test_all_lists_the_user_api_and_the_version() -> None:
    assert sorted(fairtrail.__all__) == sorted(
        ["__version__", *(name for names in API.values() for name in names)]
    )
    assert len(set(fairtrail.__all__)) == len(fairtrail.__all__)


@pytest.mark.parametrize(
    ("module", "name"), [(module, name) for module, names in API.items() for name in names]
)
def test_each_name_is_its_packages_own_object(module: str, name: str) -> None:
    assert getattr(fairtrail, name) is getattr(importlib.import_module(module), name)


def test_bundle_resolves_to_audits_bundle() -> None:
    # audit.Bundle is the typed bundle; the front door resolves it at access time.
    assert fairtrail.Bundle is audit.Bundle
    assert "Bundle" in fairtrail.__all__


def test_dir_shows_the_api_before_it_is_imported() -> None:
    code = (
        "import fairtrail, sys; names = dir(fairtrail); "
        "print(sorted(set(fairtrail.__all__) - set(names)), 'audit' in sys.modules)"
    )
    out = run(code, cwd=REPO, path=[REPO])
    assert out.stdout.split() == ["[]", "False"], out.stderr
    assert set(fairtrail.__all__) <= set(dir(fairtrail))
    assert {"__name__", "__doc__"} <= set(dir(fairtrail))


def test_an_unknown_name_raises_the_standard_attribute_error() -> None:
    with pytest.raises(AttributeError) as plain:
        getattr(types.ModuleType("fairtrail"), "audit_prediction")  # noqa: B009
    with pytest.raises(AttributeError) as ours:
        getattr(fairtrail, "audit_prediction")  # noqa: B009
    assert (
        str(ours.value)
        == str(plain.value)
        == "module 'fairtrail' has no attribute 'audit_prediction'"
    )
    assert not hasattr(fairtrail, "_private")
    with pytest.raises(ImportError, match="cannot import name 'nothing_here' from 'fairtrail'"):
        from fairtrail import nothing_here  # type: ignore[attr-defined]  # noqa: F401


def test_submodules_still_import_through_the_package() -> None:
    from fairtrail import gate, signoff

    assert gate is importlib.import_module("fairtrail.gate")
    assert signoff.SignoffStore is fairtrail.SignoffStore


def test_the_version_is_the_distributions() -> None:
    from fairtrail import __version__

    assert __version__ == fairtrail.__version__ == metadata.version("fairtrail")


def test_star_import_brings_the_api() -> None:
    namespace: dict[str, object] = {}
    exec("from fairtrail import *", namespace)
    assert namespace["audit_predictions"] is audit.audit_predictions
    assert namespace["read_events"] is importlib.import_module("lineage").read_events


def test_import_fairtrail_imports_nothing_heavy() -> None:
    heavy = ["audit", "lineage", "reports", "pandas", "numpy", "duckdb", "pyarrow"]
    code = (
        "import sys; import fairtrail; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules)); "
        "fairtrail.SignoffStore; print(sorted(m for m in ('audit', 'pandas') if m in sys.modules));"
        "fairtrail.AuditOptions; print(sorted(m for m in ('audit', 'pandas') if m in sys.modules))"
    )
    out = run(code, cwd=REPO, path=[REPO])
    assert out.returncode == 0, out.stderr
    # the sign-off store needs no audit; AuditOptions does
    assert out.stdout.splitlines() == ["[]", "[]", "['audit', 'pandas']"]


# --- the guard: which distributions claim a folder's packages ----------------------------------


def dist_info(folder: Path, name: str, version: str, record: list[str]) -> Path:
    """A distribution's metadata folder, as pip leaves it."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text("".join(f"{line},,\n" for line in record))
    return info


def test_claims_reads_each_distributions_record(tmp_path: Path) -> None:
    dist_info(tmp_path, "lineage", "0.3", ["lineage/__init__.py", "lineage-0.3.dist-info/RECORD"])
    dist_info(tmp_path, "reports_kit", "1.0", ['"reports/a,b.py"'])  # a quoted path
    dist_info(tmp_path, "oldaudit", "2", ["audit.py"])  # a top-level module named audit
    dist_info(tmp_path, "fastaudit", "3", ["audit.cpython-311-x86_64-linux-gnu.so"])
    dist_info(tmp_path, "fairtrail", "0.1", ["audit/__init__.py", "lineage/__init__.py"])
    # names that only resemble them
    dist_info(tmp_path, "auditing", "1", ["auditing/__init__.py", "x/audit/y.py", "reports.txt"])
    dist_info(tmp_path, "lineage_tools", "1", ["lineage_tools/__init__.py", "auditx.py"])
    egg = tmp_path / "reports_egg.egg-info"
    egg.mkdir()
    (egg / "top_level.txt").write_text("reports\nother\n")
    (tmp_path / "single-1.0-py3.11.egg-info").write_text("Name: single\n")  # a file: skipped
    (tmp_path / "audit").mkdir()
    found = {name: sorted(p.name for p in paths) for name, paths in claims(tmp_path).items()}
    assert found == {
        "audit": ["fastaudit-3.dist-info", "oldaudit-2.dist-info"],
        "lineage": ["lineage-0.3.dist-info"],
        "reports": ["reports_egg.egg-info", "reports_kit-1.0.dist-info"],
    }
    assert claims(tmp_path / "missing") == {}


def test_this_installation_has_no_clash() -> None:
    check_origin()
    for name in ("audit", "lineage", "reports"):
        assert origin(name) == str(HOME / name / "__init__.py")
    assert HOME == Path(audit.__file__).parent.parent == Path(fairtrail.__file__).parent.parent


# --- the guard on fake folders ----------------------------------------------------------------


def site(folder: Path, *names: str) -> Path:
    """A folder holding regular packages ``names`` (fairtrail's, by their place)."""
    for name in names:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text("")
    return folder


def where(home: Path, **elsewhere: str | None) -> dict[str, str | None]:
    found: dict[str, str | None] = {
        name: str(home / name / "__init__.py") for name in ("audit", "lineage", "reports")
    }
    return {**found, **elsewhere}


def test_a_clean_folder_passes(tmp_path: Path) -> None:
    home = site(tmp_path / "site", "audit", "lineage", "reports", "fairtrail")
    dist_info(home, "fairtrail", "0.1.0", ["audit/__init__.py", "lineage/__init__.py"])
    dist_info(home, "pandas", "2.2", ["pandas/__init__.py"])
    check_origin(home, where(home).get)
    check_origin(home, where(home, reports=None).get)  # not installed: its import says so


def test_another_distribution_installed_into_the_same_package(tmp_path: Path) -> None:
    home = site(tmp_path / "site", "audit", "lineage", "reports")
    dist_info(home, "lineage", "0.3", ["lineage/__init__.py", "lineage/walk.py"])
    with pytest.raises(ImportError) as error:
        check_origin(home, where(home).get)
    assert str(error.value) == (
        f"the 'lineage' package at {home / 'lineage'} is not fairtrail's alone (the distribution"
        " 'lineage 0.3' installed files into it too); fairtrail installs packages named audit,"
        f" lineage and reports (in {home}): uninstall the other distribution, then reinstall"
        " fairtrail (pip overwrote the files they share), or use a separate virtual environment."
    )
    assert error.value.name == "lineage"


def test_another_distributions_package_first_on_the_path(tmp_path: Path) -> None:
    home = site(tmp_path / "site", "audit", "lineage", "reports")
    other = site(tmp_path / "user-site", "audit")
    dist_info(other, "audit", "0.1", ["audit/__init__.py"])
    with pytest.raises(ImportError) as error:
        check_origin(home, where(home, audit=str(other / "audit" / "__init__.py")).get)
    assert str(error.value) == (
        f"the 'audit' package at {other / 'audit'} is not fairtrail's (it belongs to the"
        " distribution 'audit 0.1'); fairtrail installs packages named audit, lineage and"
        f" reports (in {home}): uninstall the other distribution or use a separate virtual"
        " environment."
    )


def test_a_package_no_distribution_installed_first_on_the_path(tmp_path: Path) -> None:
    home = site(tmp_path / "site", "audit", "lineage", "reports")
    (tmp_path / "project").mkdir()
    script = tmp_path / "project" / "reports.py"  # a user's own reports.py, say
    script.write_text("")
    with pytest.raises(ImportError, match=r"^the 'reports' package at .*reports\.py is not") as e:
        check_origin(home, where(home, reports=str(script)).get)
    message = str(e.value)
    assert "(no installed distribution claims it, and it comes first on the import path)" in message
    assert message.endswith(
        ": rename or remove the other package, or use a separate virtual environment."
    )


def test_a_package_whose_init_was_removed(tmp_path: Path) -> None:
    # Uninstalling a distribution that shared reports/ removes the __init__.py they shared: a
    # namespace package is left, which Python imports without complaint.
    home = site(tmp_path / "site", "audit", "lineage")
    (home / "reports").mkdir()
    with pytest.raises(ImportError) as error:
        check_origin(home, where(home, reports=str(home / "reports")).get)
    assert (
        f"the 'reports' package at {home / 'reports'} is not fairtrail's alone (its __init__.py"
        " is missing: uninstalling another distribution removes it)"
    ) in str(error.value)
    assert "then reinstall fairtrail" in str(error.value)


def test_every_clash_is_named_in_one_message(tmp_path: Path) -> None:
    home = site(tmp_path / "site", "audit", "lineage", "reports")
    info = dist_info(home, "reports", "5.0", ["reports/__init__.py"])
    (info / "METADATA").unlink()  # no metadata: the folder's name is all there is
    other = site(tmp_path / "elsewhere", "lineage")
    with pytest.raises(ImportError) as error:
        check_origin(home, where(home, lineage=str(other / "lineage" / "__init__.py")).get)
    message = str(error.value)
    assert message.index("the 'lineage' package") < message.index("the 'reports' package")
    assert "the distribution 'reports 5.0' installed files into it too" in message


def test_the_message_example() -> None:
    clash = Clash("audit", Path("/x/site-packages/audit"), ("audit 0.1",), shared=False)
    assert clash_message([clash], Path("/x/site-packages")) == (
        "the 'audit' package at /x/site-packages/audit is not fairtrail's (it belongs to the"
        " distribution 'audit 0.1'); fairtrail installs packages named audit, lineage and reports"
        " (in /x/site-packages): uninstall the other distribution or use a separate virtual"
        " environment."
    )


# --- the guard in a fresh process -------------------------------------------------------------


@pytest.fixture
def foreign_lineage(tmp_path: Path) -> Path:
    """A folder holding another ``lineage`` package, which says so if it ever runs."""
    (tmp_path / "foreign" / "lineage").mkdir(parents=True)
    (tmp_path / "foreign" / "lineage" / "__init__.py").write_text(
        "raise SystemExit('the foreign lineage ran')\n"
    )
    return tmp_path / "foreign"


@pytest.mark.parametrize(
    "code", ["import fairtrail; fairtrail.read_events", "import reports", "import audit"]
)
def test_a_foreign_lineage_first_on_the_path_is_refused(
    code: str, foreign_lineage: Path, tmp_path: Path
) -> None:
    out = run(code, cwd=tmp_path, path=[foreign_lineage, REPO])
    assert out.returncode == 1
    assert "the foreign lineage ran" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last == (
        f"ImportError: the 'lineage' package at {foreign_lineage / 'lineage'} is not fairtrail's"
        " (no installed distribution claims it, and it comes first on the import path);"
        f" fairtrail installs packages named audit, lineage and reports (in {REPO}): rename or"
        " remove the other package, or use a separate virtual environment."
    )


def test_an_audit_py_in_the_current_folder_is_refused_by_the_front_door(tmp_path: Path) -> None:
    # `python -c` and `python -m` put the current folder first: a script named audit.py hides
    # fairtrail's audit, whose own check then never runs. The front door checks before.
    (tmp_path / "audit.py").write_text("raise SystemExit('the foreign audit ran')\n")
    out = run("import fairtrail; fairtrail.audit_predictions", cwd=tmp_path, path=[REPO])
    assert out.returncode == 1
    assert "the foreign audit ran" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"ImportError: the 'audit' package at {tmp_path / 'audit.py'} is not fairtrail's (no"
        " installed distribution claims it, and it comes first on the import path); fairtrail"
        f" installs packages named audit, lineage and reports (in {REPO}): rename or remove the"
        " other package, or use a separate virtual environment."
    )


def test_folders_without_init_named_like_the_packages_are_no_clash(tmp_path: Path) -> None:
    # A user's `reports/` output folder in the current folder is a namespace portion at most:
    # Python imports fairtrail's regular package, found later on the path.
    for name in ("audit", "lineage", "reports"):
        (tmp_path / name).mkdir()
    code = "import fairtrail, reports; fairtrail.read_events; print(reports.__file__)"
    out = run(code, cwd=tmp_path, path=[tmp_path, REPO])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(REPO / "reports" / "__init__.py")


def installed(folder: Path) -> Path:
    """fairtrail laid out as a wheel installs it: packages and metadata in one folder (the
    packages linked, not copied)."""
    folder.mkdir()
    for name in ("fairtrail", "audit", "lineage", "reports"):
        (folder / name).symlink_to(REPO / name, target_is_directory=True)
    dist_info(folder, "fairtrail", "0.1.0", ["audit/__init__.py", "reports/__init__.py"])
    return folder


def test_an_installed_layout_with_another_distribution_sharing_a_package(tmp_path: Path) -> None:
    target = installed(tmp_path / "site")
    (tmp_path / "work").mkdir()
    clean = run("import fairtrail; print(fairtrail.Bundle.__module__)", tmp_path / "work", [target])
    assert clean.returncode == 0, clean.stderr
    dist_info(target, "reports", "1.0", ["reports/__init__.py", "reports/pdf.py"])
    for code in ("import lineage", "import fairtrail; fairtrail.render_report"):
        out = run(code, tmp_path / "work", [target])
        assert out.returncode == 1
        assert (
            f"ImportError: the 'reports' package at {target / 'reports'} is not fairtrail's alone"
            " (the distribution 'reports 1.0' installed files into it too)"
        ) in out.stderr


def test_another_distributions_init_written_over_audits(tmp_path: Path) -> None:
    # pip installed the other `audit` last: its __init__.py replaced fairtrail's, so audit's
    # check never runs. The front door sees that it did not.
    target = tmp_path / "site"
    target.mkdir()
    for name in ("fairtrail", "lineage", "reports"):
        (target / name).symlink_to(REPO / name, target_is_directory=True)
    (target / "audit").mkdir()
    (target / "audit" / "__init__.py").write_text("VERSION = '0.1'\n")
    dist_info(target, "audit", "0.1", ["audit/__init__.py"])
    (tmp_path / "work").mkdir()
    out = run("import fairtrail; fairtrail.AuditResult", tmp_path / "work", [target])
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"ImportError: the 'audit' package at {target / 'audit'} is not fairtrail's (its"
        " __init__.py is another distribution's, written over fairtrail's); fairtrail installs"
        f" packages named audit, lineage and reports (in {target}): uninstall the other"
        " distribution, then reinstall fairtrail, or use a separate virtual environment."
    )
