"""Fan-out: VIEWERS WebSocket viewers of one deployment through one daphne while its Local
process prints LINES_PER_S lines a second for BENCH_SECONDS (default 60) seconds.

Same real stack as bench/logs.py (Local process → collector runner → channel layer → daphne →
`websockets` clients). Figures: `lost_lines` (lines some viewer never got; goal 0),
`out_of_order` (a line arriving after a later one), `duplicates`, `p95_ms` (print → viewer),
`viewers`, `lines_per_s`, `seconds`, `backend`.
"""

import asyncio
import json
import os
import sys
import time

from bench.logs import Stack, backend, percentile, run_in_child, viewer

VIEWERS = 200
LINES_PER_S = 100


def seconds() -> int:
    return int(os.environ.get("BENCH_SECONDS") or 60)


async def _measure(stack: Stack, count: int) -> tuple[list[float], list[dict]]:
    latencies, records = [], [{} for _ in range(VIEWERS)]
    deadline = time.monotonic() + count / LINES_PER_S + 60
    tasks = [asyncio.create_task(viewer(stack, count, latencies, record, deadline)) for record in records]
    while not all(record.get("connected") for record in records):
        if any(task.done() and task.exception() for task in tasks):
            raise next(task.exception() for task in tasks if task.done() and task.exception())
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # the collector has listed the deployment
    stack.go()
    await asyncio.gather(*tasks)
    return latencies, records


def _order_figures(records: list[dict], count: int) -> dict:
    lost = out_of_order = duplicates = 0
    for record in records:
        seqs = record.get("seqs", [])
        lost += count - len(set(seqs) & set(range(1, count + 1)))
        duplicates += len(seqs) - len(set(seqs))
        out_of_order += sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    return {"lost_lines": lost, "out_of_order": out_of_order, "duplicates": duplicates}


def child() -> dict:
    count = LINES_PER_S * seconds()
    stack = Stack(LINES_PER_S, count)
    try:
        stack.start()
        latencies, records = asyncio.run(_measure(stack, count))
    finally:
        stack.stop()
    return {**_order_figures(records, count), "p95_ms": round(percentile(latencies, 95), 1),
            "p50_ms": round(percentile(latencies, 50), 1), "viewers": VIEWERS, "lines_per_s": LINES_PER_S,
            "seconds": seconds(), "backend": backend()}


def run() -> dict:
    return run_in_child("bench.fanout")


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    print(json.dumps(child()))
