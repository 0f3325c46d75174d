"""Every recurring job ComputeHub runs, in one declarative list.

`manage.py setup_schedules` makes the django-q2 Schedule table match this list: rows named with
the `computehub:` prefix are created or updated, and prefixed rows no longer listed are removed.
Schedules anyone else created (other prefixes, one-off runtime schedules) are left alone.
"""

from dataclasses import dataclass

PREFIX = "computehub:"


@dataclass(frozen=True)
class Recurring:
    name: str  # without the prefix
    func: str  # dotted path of a thin task in <app>/tasks.py
    minutes: int  # how often


SCHEDULES = [
    # Daily: expired invitations are useless and would only clutter the Team page's history.
    Recurring(name="accounts.purge_invitations", func="accounts.tasks.purge_expired_invitations", minutes=24 * 60),
    # Offers go stale fast (spot prices, capacity); 5 minutes keeps provider rate limits comfortable.
    Recurring(name="pricing.refresh_offers", func="pricing.tasks.refresh_offers", minutes=5),
]
