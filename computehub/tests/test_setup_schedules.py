from django.core.management import call_command
from django_q.models import Schedule

from computehub.schedules import PREFIX, SCHEDULES


def _ours():
    return list(Schedule.objects.filter(name__startswith=PREFIX).values_list("name", "func", "minutes"))


def test_setup_schedules_is_idempotent_and_prunes_only_its_prefix(db):
    Schedule.objects.create(name="someone-else", func="math.floor", schedule_type=Schedule.ONCE)
    Schedule.objects.create(name=PREFIX + "retired.job", func="math.floor", schedule_type=Schedule.ONCE)
    Schedule.objects.create(name=PREFIX + SCHEDULES[0].name, func="math.floor", minutes=1)

    call_command("setup_schedules")
    first = sorted(_ours())
    call_command("setup_schedules")

    assert sorted(_ours()) == first
    assert first == sorted((PREFIX + s.name, s.func, s.minutes) for s in SCHEDULES)
    assert Schedule.objects.filter(name="someone-else").exists()


def test_every_scheduled_func_is_importable():
    from django.utils.module_loading import import_string

    for item in SCHEDULES:
        assert callable(import_string(item.func)), item.func
