"""Exit codes from clouds that report none: a job's command is wrapped so the container prints
its exit status as its last log line, and the attempt's outcome reads that line back.

The wrapper runs the command under `sh -c` and passes its status on, so the container still ends
with it. The Local provider is not wrapped: it records the process's real exit code itself (and
needs no `sh` on this machine).
"""

import re
import shlex

MARKER = "[computehub] exit code"
_MARKER_LINE = re.compile(re.escape(MARKER) + r" (-?\d+)\s*\Z")


def wrap_command(command: list[str]) -> list[str]:
    """`command` as argv, run by sh, followed by the marker line with its exit status."""
    script = f'{shlex.join(command)}; code=$?; echo "{MARKER} $code"; exit $code'
    return ["sh", "-c", script]


def exit_code_in(text: str) -> int | None:
    """The code on the last marker line of `text` (log lines joined by newlines), or None."""
    codes = [int(found.group(1)) for line in text.split("\n") if (found := _MARKER_LINE.match(line))]
    return codes[-1] if codes else None
