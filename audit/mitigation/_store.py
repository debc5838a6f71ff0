"""A sweep in the audit bundle: the trade-off, every candidate's audit, the chosen model.

Layout inside a bundle (every file is in the manifest, so tampering is detected; the names are
:class:`audit.Bundle`'s)::

    Bundle.TRADEOFF                   TradeOff.to_dict(): frontier, costs, choice, rationale
    Bundle.SWEEP                      the plan, the model's features, timings, the model file
    Bundle.candidate_audit(name)      each candidate's full held-out audit
    Bundle.MODEL                      the chosen model (absent when none was chosen)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit._bundle import Bundle, _decode_tradeoff, _json_bytes, result_json
from audit._exceptions import BundleError
from audit._result import _encode
from audit.mitigation._tradeoff import TradeOff

if TYPE_CHECKING:  # reading a trade-off needs neither scikit-learn nor skops
    from audit.mitigation._sweep import Sweep

__all__ = [
    "MODEL_FILE",
    "SWEEP_FILE",
    "TRADEOFF_FILE",
    "load_chosen_model",
    "read_tradeoff",
    "sweep_files",
]

#: The bundle's file names of a sweep (kept here under their earlier names).
TRADEOFF_FILE = Bundle.TRADEOFF
SWEEP_FILE = Bundle.SWEEP
MODEL_FILE = Bundle.MODEL


def sweep_files(
    sweep: Sweep, *, model: Any = None, details: Mapping[str, Any] | None = None
) -> dict[str, bytes]:
    """The bundle files of a sweep (names relative to the bundle).

    Parameters
    ----------
    sweep : Sweep
    model : estimator, optional
        The model to save as the chosen one (default: :attr:`Sweep.chosen_model`; for
        example the chosen mitigator behind its feature transformer). Saved with skops.
    details : mapping, optional
        More plain data for ``sweep.json`` (for example the features used).

    Raises
    ------
    BundleError
        The chosen model cannot be represented by skops (nothing is written).
    """
    import skops.io as sio

    t = sweep.tradeoff
    files = {TRADEOFF_FILE: _json_bytes(t.to_dict())}
    for name, audit in sweep.audits.items():
        files[Bundle.candidate_audit(name)] = result_json(audit)
    model = sweep.chosen_model if model is None else model
    info: dict[str, Any] = {
        "plan": sweep.plan.to_dict(),
        "seconds": round(sweep.seconds, 3),
        "fit_seconds": {c.name: c.fit_seconds for c in t.candidates},
        "chosen": t.chosen,
        "model": None,
        **dict(details or {}),
    }
    if t.chosen is not None and model is not None:
        try:
            data = sio.dumps(model)
        except Exception as exc:
            raise BundleError(
                f"The chosen model {t.chosen!r} cannot be saved with skops: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        files[MODEL_FILE] = data
        info["model"] = {
            "file": MODEL_FILE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "type": f"{type(model).__module__}.{type(model).__qualname__}",
            "untrusted_types": sio.get_untrusted_types(data=data),
        }
    files[SWEEP_FILE] = _json_bytes(_encode(info))
    return files


def read_tradeoff(bundle: str | Path | Bundle, *, verify: bool = True) -> TradeOff:
    """The trade-off stored in an audit bundle (:attr:`audit.Bundle.tradeoff`).

    Parameters
    ----------
    bundle : str, Path or Bundle
        An opened bundle, or its folder (then verified against its manifest first).
    verify : bool, default True
        Verify a folder first; ignored for an opened bundle (verified when opened).

    Raises
    ------
    BundleError
        The bundle fails verification, has no trade-off, or it is malformed.
    """
    if isinstance(bundle, Bundle) or verify:
        opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
        tradeoff = opened.tradeoff
        if tradeoff is None:
            raise _no_tradeoff(opened.path)
        return tradeoff
    path = Path(bundle) / TRADEOFF_FILE
    if not path.is_file():
        raise _no_tradeoff(Path(bundle))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{TRADEOFF_FILE} cannot be read: {exc}") from None
    return _decode_tradeoff(data)


def _no_tradeoff(folder: Path) -> BundleError:
    return BundleError(f"Bundle '{folder}' has no mitigation trade-off ({TRADEOFF_FILE}).")


def load_chosen_model(bundle: str | Path | Bundle, *, trusted: tuple[str, ...] = ()) -> Any:
    """Load the chosen model of a verified bundle (skops, with the allow-list).

    Parameters
    ----------
    bundle : str, Path or Bundle
        An opened bundle, or its folder (then verified against its manifest first).
    trusted : tuple of str
        Types to allow besides skops' defaults (:func:`load_model`).

    Raises
    ------
    BundleError
        The bundle fails verification or holds no chosen model.
    UntrustedModelError
        The file would instantiate a type outside the allow-list.
    """
    opened = bundle if isinstance(bundle, Bundle) else Bundle.open(bundle)
    model = opened.models.get(MODEL_FILE)
    if model is None:
        raise BundleError(f"Bundle '{opened.path}' holds no chosen model ({MODEL_FILE}).")
    from audit.mitigation._persist import load_model

    return load_model(model, trusted=trusted)
