"""The table of outcomes per kind of scenario and the flat figures written to chaos.json."""

from collections import Counter

from bench.chaos_support.scenarios import KINDS


def _bad(outcome: dict) -> bool:
    return bool(outcome["duplicates"] or outcome["leaked_live"] or outcome["leaked_after_cleanup"]
                or outcome["destructive_during_outage"])


def figures(outcomes: list[dict]) -> dict:
    count = len(outcomes)
    successes = sum(1 for o in outcomes if o["success"])
    overspend = [o["overspend"] for o in outcomes if o.get("overspend") is not None]
    raw = [o["overspend_raw"] for o in outcomes if o.get("overspend_raw") is not None]
    result = {
        "scenarios": count, "success_rate": round(successes / count, 4) if count else 0.0,
        "failures": count - successes,
        "duplicates": sum(len(o["duplicates"]) for o in outcomes),
        "leaks": sum(len(o["leaked_live"]) + len(o["leaked_after_cleanup"]) for o in outcomes),
        "leaks_before_cleanup": sum(len(o["leaked_live"]) for o in outcomes),
        "leaks_after_cleanup": sum(len(o["leaked_after_cleanup"]) for o in outcomes),
        "destructive_during_outage": sum(len(o["destructive_during_outage"]) for o in outcomes),
        "legit_destructive_during_outage": sum(len(o["legit_in_outage"]) for o in outcomes),
        "max_overspend_intervals": max(overspend, default=0.0),
        "max_overspend_intervals_raw": max(raw, default=0.0),
        "max_overspend_intervals_without_kills": max(
            (o["overspend"] for o in outcomes if o.get("overspend") is not None and not o["kills"]), default=0.0),
        "workers_killed": sum(o["kills"] for o in outcomes),
        "simulated_hours": round(sum(o["sim_s"] for o in outcomes) / 3600, 1),
        "errors": sum(1 for o in outcomes if str(o.get("reason", "")).startswith("error")),
    }
    for kind in KINDS:
        mine = [o for o in outcomes if o["kind"] == kind]
        if mine:
            result[f"success_rate_{kind}"] = round(sum(o["success"] for o in mine) / len(mine), 4)
    return result


def table(outcomes: list[dict]) -> str:
    lines = [f"{'kind':<12} {'count':>5} {'ok':>5} {'rate':>7} {'killed':>6} {'dup':>4} {'leak':>4} {'outage':>6}  failures"]
    for kind in KINDS:
        mine = [o for o in outcomes if o["kind"] == kind]
        if mine:
            lines += _row(kind, mine)
    lines += _row("total", outcomes)
    bad = [o for o in outcomes if _bad(o)]
    if bad:
        lines.append("invariants broken in: " + ", ".join(f"#{o['index']} ({o['kind']})" for o in bad[:20]))
    return "\n".join(lines)


def _row(name: str, mine: list[dict]) -> list[str]:
    ok = sum(1 for o in mine if o["success"])
    reasons = Counter(_short(o["reason"]) for o in mine if not o["success"])
    head = (f"{name:<12} {len(mine):>5} {ok:>5} {ok / len(mine):>7.1%} {sum(o['killed'] for o in mine):>6} "
            f"{sum(len(o['duplicates']) for o in mine):>4} "
            f"{sum(len(o['leaked_live']) + len(o['leaked_after_cleanup']) for o in mine):>4} "
            f"{sum(len(o['destructive_during_outage']) for o in mine):>6}")
    if not reasons or name == "total":
        return [head]
    first, *rest = reasons.most_common()
    return [f"{head}  {first[1]}× {first[0]}"] + [f"{'':<48}  {n}× {reason}" for reason, n in rest]


def _short(reason: str) -> str:
    """The reason without figures that differ between runs (ids, amounts, statuses in brackets)."""
    import re

    return re.sub(r"\$[\d.,]+|\d[\d.]*", "N", reason)[:90]
