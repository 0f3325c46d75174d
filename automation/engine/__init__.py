"""The rules engine: events from the outbox → matching rules → conditions → actions, with a
RuleRun for every rule that matched. `process_events` is the autopilot's 1 s "events" job.

Submodules: params (what each trigger and action accepts), facts (what conditions see),
matching (which rules an event concerns), actions (one function per action type), processor
(claim, decide, act, record)."""


def process_events(limit: int = 200) -> int:
    """Process up to `limit` unprocessed events; returns how many this call finished."""
    from automation.engine.processor import process_events as run  # late: keeps params importable cheaply

    return run(limit=limit)
