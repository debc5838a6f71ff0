"""What every mitigator shares: its error class and how randomized rules draw."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from audit._exceptions import DataValidationError

__all__ = ["MitigationError", "uniform_draws"]


class MitigationError(DataValidationError):
    """A mitigation cannot run on this data or with these parameters."""


def uniform_draws(random_state: Any, n: int) -> npt.NDArray[np.float64]:
    """``n`` uniform draws in [0, 1) from ``random_state``, never from NumPy's global generator.

    An int seeds a fresh ``RandomState`` (the stream fairlearn's ``check_random_state(seed)
    .rand(n)`` draws, so seeded predictions equal fairlearn's); None draws from a fresh
    generator with OS entropy (not reproducible, and the global state is left alone).

    Raises
    ------
    MitigationError
        ``random_state`` is of another type.

    Examples
    --------
    >>> a = uniform_draws(3, 4)
    >>> bool((a == uniform_draws(3, 4)).all()), bool((a == np.random.RandomState(3).rand(4)).all())
    (True, True)
    """
    if random_state is None:
        rng: Any = np.random.RandomState()
    elif isinstance(random_state, np.random.RandomState | np.random.Generator):
        rng = random_state
    elif isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        rng = np.random.RandomState(int(random_state))
    else:
        raise MitigationError(
            "The 'random_state' parameter must be an int, a numpy RandomState or Generator, or "
            f"None. Got {random_state!r}."
        )
    if isinstance(rng, np.random.Generator):
        return rng.random(n)
    out: npt.NDArray[np.float64] = rng.random_sample(n)
    return out
