"""Recorded prices as they stood at a moment: the cheapest $/GPU-hour of a GPU model across
providers, from the latest price point of each provider in the day before (older ones are stale)."""

from bisect import bisect_right
from datetime import datetime, timedelta

from automation.replay.history import History, PriceRow

STALE_AFTER = timedelta(hours=24)


class PriceBook:
    def __init__(self, history: History):
        self._rows: dict[str, list[PriceRow]] = {}
        for row in history.prices:
            self._rows.setdefault(row.gpu_model, []).append(row)
        self._times = {model: [row.at for row in rows] for model, rows in self._rows.items()}

    def cheapest_at(self, gpu_model: str, at: datetime, *, spot: bool = False,
                    exclude_provider: str | None = None) -> float | None:
        """Cheapest $/GPU-hour known at `at` (None when nothing recent is recorded)."""
        rows = self._rows.get(gpu_model, [])
        latest: dict[str, float] = {}
        for row in reversed(rows[:bisect_right(self._times.get(gpu_model, []), at)]):
            if at - row.at > STALE_AFTER:
                break
            if row.spot == spot and row.provider != exclude_provider and row.provider not in latest:
                latest[row.provider] = row.price_per_gpu_hour
        return min(latest.values()) if latest else None

    def timeline(self, gpu_model: str, *, spot: bool | None = False, exclude_provider: str | None = None,
                 provider: str = ""):
        """(moment, cheapest $/GPU-hour) at every recorded refresh of `gpu_model`, in time order;
        `spot` None: spot and on-demand; `provider`: only that one."""
        latest: dict[tuple, tuple[datetime, float]] = {}
        for row in self._rows.get(gpu_model, []):
            if (spot is not None and row.spot != spot) or row.provider == exclude_provider \
                    or (provider and row.provider != provider):
                continue
            latest[(row.provider, row.spot)] = (row.at, row.price_per_gpu_hour)
            fresh = [price for seen, price in latest.values() if row.at - seen <= STALE_AFTER]
            yield row.at, min(fresh)
