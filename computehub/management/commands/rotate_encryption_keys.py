"""Move every stored secret (provider keys, channel tokens and signing secrets, deployments'
secret environment, workspace SSH private keys) to the active encryption key, the first of
COMPUTEHUB_ENCRYPTION_KEYS. Safe to re-run; fails loudly if any row cannot be decrypted."""

from django.core.management.base import BaseCommand, CommandError

from computehub import crypto
from computehub.crypto_rotation import RotationError, key_counts, rotate_all


def _format(counts: dict[str, int]) -> str:
    return ", ".join(f"{kid}: {count}" for kid, count in sorted(counts.items())) or "no stored secrets"


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the active key; prints counts per key id before and after."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        self.stdout.write(f"Active key id: {crypto.keyring().active_kid}")
        self.stdout.write(f"Before: {_format(key_counts())}")
        try:
            after = rotate_all(batch_size=batch_size)
        except RotationError as error:
            self.stdout.write(f"After: {_format(key_counts())}")
            raise CommandError(str(error)) from None
        self.stdout.write(f"After: {_format(after)}")
        self.stdout.write(self.style.SUCCESS("Every stored secret is on the active key; older keys may now be removed."))
