from django.core.management.base import BaseCommand
from django.db import transaction
from django_q.models import Schedule

from computehub.schedules import PREFIX, SCHEDULES


class Command(BaseCommand):
    help = "Create, update and prune ComputeHub's recurring django-q2 schedules (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        names = [PREFIX + item.name for item in SCHEDULES]
        for item, name in zip(SCHEDULES, names):
            self._upsert(name, item)
        pruned, _ = Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=names).delete()
        self.stdout.write(f"{len(names)} schedules in place, {pruned} pruned.")

    def _upsert(self, name, item):
        """Schedule.name is not unique in django-q2, so keep exactly one row per name ourselves."""
        rows = Schedule.objects.filter(name=name).order_by("id")
        extra = list(rows.values_list("id", flat=True)[1:])
        Schedule.objects.filter(id__in=extra).delete()
        defaults = {"func": item.func, "schedule_type": Schedule.MINUTES, "minutes": item.minutes, "repeats": -1}
        Schedule.objects.update_or_create(name=name, defaults=defaults)
