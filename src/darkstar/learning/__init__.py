"""Learning: what was planned, what happened, and what the difference teaches (DESIGN §5).

The persistence layer lives in :mod:`darkstar.learning.store`, the only place in the
package that talks SQL.
"""

from __future__ import annotations

__all__: list[str] = []
