"""Saving and loading models with skops, never pickle: loading runs no code it was not allowed.

:func:`load_model` lists the types a file would instantiate *before* loading it and refuses
any type outside an explicit allow-list: the types skops trusts by default (NumPy, SciPy,
scikit-learn's own) plus :data:`TRUSTED_TYPES` (fairtrail's estimators and the fairlearn
parts they keep) plus what the caller adds. Files are written atomically (a temporary file in
the same folder, fsync, rename), so an interrupted save never leaves half a model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from audit._exceptions import FairtrailError
from audit._files import write_atomically

__all__ = ["TRUSTED_TYPES", "UntrustedModelError", "load_model", "save_model"]

#: Types fairtrail's mitigated models are made of, trusted on top of skops' defaults.
TRUSTED_TYPES = (
    "audit.mitigation._estimators.DecorrelatedClassifier",
    "audit.mitigation._estimators.ReductionClassifier",
    "audit.mitigation._estimators.ThresholdOptimizerClassifier",
    "audit.mitigation._threshold_rules.GroupRule",
    "audit.mitigation._threshold_rules.GroupThresholds",
    "audit.mitigation._threshold_rules.Rates",
    "audit.mitigation._thresholds.GroupThresholdClassifier",
    "audit.mitigation._regression.ReductionRegressor",
    "fairlearn.preprocessing._correlation_remover.CorrelationRemover",
)


class UntrustedModelError(FairtrailError, ValueError):
    """A model file would instantiate types outside the allow-list; nothing was loaded."""


def save_model(model: Any, path: str | Path) -> str:
    """Write ``model`` to ``path`` in skops format, atomically; return the file's sha256.

    Raises
    ------
    TypeError
        The model holds an object skops cannot represent (it is not written).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> m = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> len(save_model(m, path))
    64
    >>> load_model(path).predict([[1.0]]).tolist()
    [1]
    """
    import skops.io as sio

    data = sio.dumps(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    return hashlib.sha256(data).hexdigest()


def load_model(path: str | Path, *, trusted: Sequence[str] = ()) -> Any:
    """Load a skops model file, refusing types outside the allow-list.

    Parameters
    ----------
    path : str or Path
    trusted : sequence of str
        Fully qualified type names to allow on top of skops' defaults and
        :data:`TRUSTED_TYPES`.

    Raises
    ------
    UntrustedModelError
        Naming every type the file would instantiate that is not allowed.
    FairtrailError
        The file cannot be read or is not a skops file.
    """
    import skops.io as sio

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FairtrailError(f"Cannot read model '{path}': {exc.strerror or exc}.") from None
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # a zip that is not a skops file, or no zip at all
        raise FairtrailError(
            f"'{path.name}' is not a skops model file ({type(exc).__name__}: {exc})."
        ) from None
    allowed = {*TRUSTED_TYPES, *trusted}
    refused = sorted(t for t in untrusted if t not in allowed)
    if refused:
        raise UntrustedModelError(
            f"Refusing to load '{path.name}': it would instantiate {refused}, which are not in "
            "the allow-list. If you trust the file's source, pass them in 'trusted'."
        )
    return sio.loads(data, trusted=sorted(set(untrusted)))
