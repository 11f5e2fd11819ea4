"""What stored energy is worth after the last known price.

A rolling planner that sees prices only to the end of today (or of tomorrow after the
13:00 publication) and values the battery at zero at that point empties it before every
horizon end, and so never keeps cheap night energy for tomorrow morning. The remedy used
here is *persistence*: the horizon is extended by one day whose prices repeat the last
known day, slot by slot. Day-ahead prices have a strong daily shape, so yesterday's shape
is a good forecast of tomorrow's, and the planner then values stored energy at the price
it would most likely displace. The extension is replaced by real prices as they publish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["persistence_extension"]


def persistence_extension(
    known_prices: NDArray[np.float64], *, slots_per_day: int
) -> NDArray[np.float64]:
    """Return one day of forecast prices: the last ``slots_per_day`` known prices, repeated.

    Parameters
    ----------
    known_prices : ndarray
        Prices known today, oldest first, ending at the last published slot [SEK/kWh].
    slots_per_day : int
        Slots in one day (96 for 15-minute slots).

    Returns
    -------
    ndarray
        ``slots_per_day`` prices for the slots after the last known one. With less than a
        day of history the known prices are tiled.

    Examples
    --------
    >>> persistence_extension(np.array([1.0, 2.0, 3.0, 4.0]), slots_per_day=2).tolist()
    [3.0, 4.0]
    >>> persistence_extension(np.array([5.0]), slots_per_day=3).tolist()
    [5.0, 5.0, 5.0]
    """
    if len(known_prices) == 0:
        msg = "known_prices: at least one known price is needed"
        raise ValueError(msg)
    if len(known_prices) >= slots_per_day:
        return np.asarray(known_prices[-slots_per_day:], dtype=np.float64).copy()
    reps = -(-slots_per_day // len(known_prices))
    return np.tile(np.asarray(known_prices, dtype=np.float64), reps)[-slots_per_day:]
