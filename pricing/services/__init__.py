"""Writes of offers and prices: the refresh that asks every connected provider for its offers,
and "Refresh now".

Every credential is asked concurrently in one event loop (at most COMPUTEHUB_REFRESH_CONCURRENCY
at once), each under its own timeout, so one slow cloud costs its timeout rather than adding to
everybody's wait. Database writes happen after the fetches, one transaction per credential, each
isolated: a credential that fails (or was removed meanwhile) is reported and the others still
write. A provider that fails keeps its last offers and is marked stale with a short reason.

  report.py     what happened, per credential, in words
  normalize.py  a provider's Offer → an Offer row with its ranking columns
  fetch.py      the concurrent, bounded fetch
  store.py      the isolated per-credential writes and the price history
  refresh.py    the entry points: refresh_offers and offer_refresh_request
"""

from computehub import realtime  # noqa: F401  (tests replace realtime.publish_workspace_toast)
from pricing.services.normalize import offer_row, ranking_columns
from pricing.services.refresh import offer_refresh_request, refresh_offers
from pricing.services.report import ProviderResult, RefreshReport, failure_reason
from pricing.services.store import record_price_points

__all__ = [
    "ProviderResult", "RefreshReport", "failure_reason", "offer_refresh_request", "offer_row", "ranking_columns",
    "record_price_points", "refresh_offers",
]  # fmt: skip
