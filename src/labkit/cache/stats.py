"""Counters per namespace and layer: what was found, missed, stored, pushed out, expired or repaired.

Counters live in the process that counts them: several processes sharing one disk layer each see
their own requests, which is what a hit rate is about.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class LayerStats:
    """One layer's counters for one namespace.

    `evictions`: entries pushed out to respect a size bound. `expirations`: entries found past their
    lifetime or removed by a cleanup. `corrupt`: entries that failed their checksum or could not be
    decoded, dropped and counted as misses. `errors`: operations given up after retries (a locked
    or full database): a read becomes a miss, a write is skipped.
    """

    hits: int = 0
    misses: int = 0
    sets: int = 0
    evictions: int = 0
    expirations: int = 0
    corrupt: int = 0
    errors: int = 0

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "hit_rate": self.hit_rate}

    def reset(self) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, 0)
