"""`manage.py refresh_offers [--workspace SLUG]`: refresh now and print how each provider went."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from pricing.services import refresh_offers


class Command(BaseCommand):
    help = "Ask every connected provider for its offers now and print a per-provider report."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", help="Only this workspace (default: all).")

    def handle(self, *args, workspace=None, **options):
        target = self._workspace(workspace) if workspace else None
        report = refresh_offers(workspace=target, notify=target is not None)
        for result, line in zip(report.results, report.lines(), strict=True):
            self.stdout.write(self.style.SUCCESS(line) if result.ok else self.style.WARNING(line))
        self.stdout.write(f"{len(report.results)} providers, {len(report.failed)} stale, "
                          f"{report.offers} offers in {report.wall_ms:.0f} ms")

    def _workspace(self, slug: str) -> Workspace:
        try:
            return Workspace.objects.get(slug=slug)
        except Workspace.DoesNotExist:
            raise CommandError(f"No workspace with slug {slug!r}.") from None
