"""What a sandbox instance's container does, for its logs and for its end.

The container prints a banner when it starts and a line every `every_s` seconds while it runs.
When its launch env sets SANDBOX_EXIT_AFTER_S, its command ends that many seconds after the
container started, with exit code SANDBOX_EXIT_CODE (default 0). Clouds report no exit code: a
command wrapped to print its own (`<cmd>; code=$?; echo "<text> $code"; exit $code`, as
ComputeHub's batch queue does) prints that line last, as a shell would, with the code filled in.

Everything follows from the launch, the instance's runs and the clock, so two reads at the same
moment see the same lines with the same timestamps.
"""

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from datetime import datetime, timedelta, timezone

from providers.sandbox.base import SimInstance

EXIT_AFTER_ENV = "SANDBOX_EXIT_AFTER_S"
EXIT_CODE_ENV = "SANDBOX_EXIT_CODE"
_ECHOES_CODE = re.compile(r'echo "([^"$]*)\$code"')  # the wrapper's last words: a text, then the status


def _number(text, kind, default):
    try:
        return kind(text) if text not in (None, "") else default
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Workload:
    image: str
    exit_after_s: float | None = None  # None: it runs until stopped
    exit_code: int = 0
    marker: str | None = None  # what the command's wrapper prints before its exit code
    every_s: float = 2.0

    @classmethod
    def from_launch(cls, image: str, command: str, env: dict, *, every_s: float) -> "Workload":
        wrapper = _ECHOES_CODE.search(command or "")
        return cls(image=image, exit_after_s=_number(env.get(EXIT_AFTER_ENV), float, None),
                   exit_code=_number(env.get(EXIT_CODE_ENV), int, 0),
                   marker=wrapper.group(1) if wrapper else None, every_s=every_s)

    def ends_at(self, instance: SimInstance) -> float | None:
        """When the current run's command ends by itself (None: it does not, or nothing runs)."""
        started = instance.run_started_at()
        return None if started is None or self.exit_after_s is None else started + self.exit_after_s

    def exited(self, instance: SimInstance, now: float) -> bool:
        end = self.ends_at(instance)
        return end is not None and end <= now

    def output(self, instance: SimInstance, now: float) -> "Output":
        """Every line its runs printed up to `now`."""
        runs = list(instance.past_runs)
        started = instance.run_started_at()
        if started is not None and started <= now:
            runs.append((started, now))
        return Output(self, [self._run(number, start, end) for number, (start, end) in enumerate(runs, 1)])

    def _run(self, number: int, start: float, end: float) -> "_Run":
        exit_at = None if self.exit_after_s is None else start + self.exit_after_s
        finished = exit_at is not None and exit_at <= end
        last = exit_at if finished else end
        steps = int((last - start) / self.every_s)
        if finished and start + steps * self.every_s >= last:
            steps -= 1  # the wrapper's line is the last one
        return _Run(number, start, steps, exit_at if finished and self.marker is not None else None)

    def line(self, run: "_Run", index: int) -> tuple[float, str]:
        if index == 0:
            return run.start, f"[sandbox] container started from {self.image} (run {run.number})"
        if index <= run.steps:
            return run.start + index * self.every_s, f"working: step {index}"
        return run.exit_at, f"{self.marker}{self.exit_code}"


@dataclass(frozen=True)
class _Run:
    """One container run's lines: a banner, `steps` working lines, and the wrapper's exit line
    when the command ended within the run (`exit_at`)."""

    number: int
    start: float
    steps: int
    exit_at: float | None

    def __len__(self) -> int:
        return 1 + self.steps + (self.exit_at is not None)


class Output(Sequence):
    """(time, text) of a workload's lines, oldest first, computed per line on demand: a container
    that ran for days is never built whole."""

    def __init__(self, workload: Workload, runs: list[_Run]):
        self.workload, self.runs = workload, runs
        self.ends = list(accumulate(len(run) for run in runs))

    def __len__(self) -> int:
        return self.ends[-1] if self.ends else 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = index + len(self) if index < 0 else index
        if not 0 <= index < len(self):
            raise IndexError(index)
        number = bisect_right(self.ends, index)
        return self.workload.line(self.runs[number], index - (self.ends[number - 1] if number else 0))


def window(lines: Sequence, keep=None, tail: int | None = None, limit: int | None = None) -> list[tuple[float, str]]:
    """The lines from the first whose time `keep` accepts (a test that, once true, stays true for
    later lines): only the last `tail` of them, or the first `limit`, when given."""
    first = 0 if keep is None else bisect_left(lines, True, key=lambda line: keep(line[0]))
    if tail is not None:
        first = max(first, len(lines) - tail)
    return lines[first:] if limit is None else lines[first:first + limit]


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(moment: float) -> int:
    """A line's time as whole microseconds: what its RFC 3339 stamp says, so comparisons with a
    stamp a client sends back are exact."""
    return round(moment * 1_000_000)


def rfc3339(moment: float) -> str:
    """RFC 3339 in UTC with microseconds, as providers stamp log lines."""
    return (_EPOCH + timedelta(microseconds=micros(moment))).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: str) -> int:
    """Microseconds since the epoch; ValueError for anything that is not an RFC 3339 time with a zone."""
    moment = datetime.fromisoformat(str(text).strip())
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return (moment - _EPOCH) // timedelta(microseconds=1)
