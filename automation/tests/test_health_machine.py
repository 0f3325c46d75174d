"""The health state machine: down only after 3 failures in a row, up after 2 successes, unknown
never counts; one Flip and one event per change however many workers apply the same result;
still_down / reminder / unreachable / flapping on their cadence (fake clock)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.health.probes import FAIL, OK, UNKNOWN, ProbeResult
from automation.models import AutomationEvent, EventType, Flip, HealthState
from automation.services.health import health_apply_result
from automation.tests.factories_health import HealthCheckFactory, stale_copy
from deployments.models import DeploymentEvent, EventKind

BAD = ProbeResult(FAIL, "HTTP 503 on /health", 3.0)
GOOD = ProbeResult(OK, latency_ms=2.0)
OUTAGE = ProbeResult(UNKNOWN, "Provider API error: 503 Service Unavailable")


@pytest.fixture
def check(team):
    return stale_copy(HealthCheckFactory(workspace=team["workspace"]))


class Clock:
    def __init__(self):
        self.now = timezone.now()

    def tick(self, seconds=30):
        self.now += timedelta(seconds=seconds)
        return self.now


def feed(check, results, clock, every=30):
    for result in results:
        assert health_apply_result(check=check, result=result, now=clock.tick(every))


def events(check, type=None):
    found = AutomationEvent.objects.filter(deployment=check.deployment)
    return list(found.filter(type=type) if type else found)


def test_flapping_probe_never_goes_down_or_tells_anyone(check):
    clock = Clock()
    feed(check, [BAD, GOOD] * 10, clock)
    assert check.state == HealthState.UP  # its first answer made it up; no 3 failures in a row since
    assert list(Flip.objects.values_list("new_state", flat=True)) == [HealthState.UP]
    assert not events(check)


def test_alternating_fail_and_success_from_up_stays_up(check):
    clock = Clock()
    feed(check, [GOOD, GOOD], clock)
    feed(check, [BAD, BAD, GOOD, BAD, BAD, GOOD] * 3, clock)
    assert check.state == HealthState.UP and Flip.objects.count() == 1  # new → up only
    assert not events(check)  # new → up is not news


def test_three_failures_make_exactly_one_down_flip_event_and_timeline_entry(check):
    clock = Clock()
    feed(check, [GOOD, GOOD, BAD, BAD], clock)
    assert check.state == HealthState.UP and not events(check)
    feed(check, [BAD, BAD, BAD], clock)
    assert check.state == HealthState.DOWN
    down = Flip.objects.get(new_state=HealthState.DOWN)
    [event] = events(check)
    assert event.type == EventType.DOWN and event.dedup_key == f"flip:{down.pk}"
    assert "HTTP 503 on /health" in event.summary
    timeline = DeploymentEvent.objects.filter(deployment=check.deployment, kind=EventKind.AUTOMATION,
                                              message__startswith="Health: down")
    assert [e.message for e in timeline] == ["Health: down after 3 failed checks (HTTP 503 on /health)"]


def test_new_check_failing_three_times_goes_down(check):
    feed(check, [BAD, BAD, BAD], Clock())
    assert check.state == HealthState.DOWN and [e.type for e in events(check)] == [EventType.DOWN]


def test_two_successes_recover_with_one_recovered_event(check):
    clock = Clock()
    feed(check, [BAD, BAD, BAD, GOOD], clock)
    assert check.state == HealthState.DOWN
    feed(check, [GOOD], clock)
    assert check.state == HealthState.UP
    assert [e.type for e in events(check)] == [EventType.DOWN, EventType.RECOVERED]
    assert Flip.objects.filter(old_state=HealthState.DOWN, new_state=HealthState.UP).count() == 1


def test_provider_outage_changes_nothing_and_says_unreachable_once_after_ten_minutes(check):
    clock = Clock()
    feed(check, [GOOD, GOOD, BAD, BAD], clock)
    flips = Flip.objects.count()
    feed(check, [OUTAGE] * 20, clock)  # ten minutes of unknown
    assert check.state == HealthState.UP and check.consecutive_failures == 2
    assert Flip.objects.count() == flips and not events(check)
    feed(check, [OUTAGE] * 40, clock)  # another twenty minutes
    assert Flip.objects.count() == flips and check.state == HealthState.UP
    [event] = events(check)
    assert event.type == EventType.UNREACHABLE and "503 Service Unavailable" in event.summary


def test_a_new_unknown_streak_is_announced_again(check):
    clock = Clock()
    feed(check, [OUTAGE] * 22, clock)
    feed(check, [GOOD], clock)
    feed(check, [OUTAGE] * 22, clock)
    assert len(events(check, EventType.UNREACHABLE)) == 2


def test_same_result_applied_twice_from_a_stale_read_flips_once(check):
    clock = Clock()
    feed(check, [BAD, BAD], clock)
    first, second = stale_copy(check), stale_copy(check)
    at = clock.tick()
    assert health_apply_result(check=first, result=BAD, now=at) is True
    assert health_apply_result(check=second, result=BAD, now=at) is False
    assert Flip.objects.filter(new_state=HealthState.DOWN).count() == 1
    assert len(events(check, EventType.DOWN)) == 1


def test_still_down_every_three_minutes_and_a_reminder_every_four_hours(check, settings):
    settings.COMPUTEHUB_STILL_DOWN_S = 180
    clock = Clock()
    feed(check, [BAD, BAD, BAD], clock)
    flip = Flip.objects.get(new_state=HealthState.DOWN)
    feed(check, [BAD] * 5, clock)  # 150 s down
    assert not events(check, EventType.STILL_DOWN)
    feed(check, [BAD] * 2, clock)  # 210 s
    [first] = events(check, EventType.STILL_DOWN)
    assert first.dedup_key == f"still_down:{flip.pk}:1" and first.data["down_for_s"] == 180
    feed(check, [BAD] * (4 * 120 - 7), clock)  # up to 4 h
    still = events(check, EventType.STILL_DOWN)
    assert len(still) == 4 * 3600 // 180 and len({e.dedup_key for e in still}) == len(still)
    [reminder] = events(check, EventType.REMINDER)
    assert reminder.dedup_key == f"reminder:{flip.pk}:1"


def test_unknown_while_down_never_confirms_still_down(check, settings):
    settings.COMPUTEHUB_STILL_DOWN_S = 180
    clock = Clock()
    feed(check, [BAD, BAD, BAD], clock)
    feed(check, [OUTAGE] * 12, clock)
    assert not events(check, EventType.STILL_DOWN) and check.state == HealthState.DOWN


def test_five_flips_in_an_hour_send_one_flapping_notice_and_mark_the_flips(check):
    clock = Clock()
    feed(check, [GOOD, GOOD], clock)
    feed(check, ([BAD] * 3 + [GOOD] * 2) * 4, clock)  # 8 flips in 30 minutes
    [notice] = events(check, EventType.FLAPPING)
    flagged = [e for e in events(check) if e.type in (EventType.DOWN, EventType.RECOVERED)]
    assert [e.data.get("flapping", False) for e in flagged] == [False] * 4 + [True] * 4
    assert notice.data["flip_id"] == flagged[4].data["flip_id"]  # the fifth change in the hour
    feed(check, [GOOD] * 130, clock)  # over an hour later it flaps again: a second notice
    feed(check, ([BAD] * 3 + [GOOD] * 2) * 3, clock)
    assert len(events(check, EventType.FLAPPING)) == 2
