"""Running one piece of work in several threads at once, as several autopilot processes would:
each thread starts at the same moment, uses its own database connection, and closes it after."""

import threading
from collections.abc import Callable

from django.db import connections


def run_concurrently(work: Callable[[], object], count: int = 3, timeout_s: float = 60) -> tuple[list, list]:
    """`work()` in `count` threads released together; returns (their results, their exceptions)
    so a failure in a thread fails the test instead of vanishing with the thread."""
    start, results, errors = threading.Barrier(count), [], []

    def worker():
        try:
            start.wait()
            results.append(work())
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    return results, errors
