"""Moves every encrypted column to the active key (the first of COMPUTEHUB_ENCRYPTION_KEYS), so
an operator can then drop the old key without losing a provider key, a channel's token, a
deployment's secret environment or a workspace's SSH private key.

Each column is bound to its row (computehub.crypto.aad_for: label, field, workspace, pk); a
new encrypted column is added to ENCRYPTED_FIELDS, and the rotation test checks every entry."""

from collections import Counter
from dataclasses import dataclass

from django.apps import apps

from computehub import crypto

UNKNOWN_KID = "<unreadable>"


@dataclass(frozen=True)
class EncryptedField:
    model: str  # "app_label.ModelName"
    field: str

    def rows(self):
        return apps.get_model(self.model).objects.exclude(**{self.field: ""})

    def aad(self, row) -> str:
        return crypto.aad_for(self.model, self.field, row.workspace_id, row.pk)


ENCRYPTED_FIELDS = (
    EncryptedField("providers.ProviderCredential", "secret"),
    EncryptedField("automation.NotificationChannel", "secret"),
    EncryptedField("deployments.Deployment", "secret_env"),
    EncryptedField("accounts.WorkspaceKeyPair", "private_key"),
)


class RotationError(Exception):
    """Some rows could not be decrypted; names them by model and id (never by value)."""

    def __init__(self, failed: list[tuple[str, object]]):
        self.failed = failed
        shown = ", ".join(f"{model} {pk}" for model, pk in failed[:20]) + (" …" if len(failed) > 20 else "")
        super().__init__(f"{len(failed)} stored secret(s) could not be decrypted and were left as they are: {shown}. "
                         "Is a key missing from COMPUTEHUB_ENCRYPTION_KEYS?")


def key_id_or_unknown(token: str) -> str:
    try:
        return crypto.key_id_of(token)
    except crypto.DecryptionError:
        return UNKNOWN_KID


def key_counts() -> dict[str, int]:
    """How many stored secrets each key id encrypts, over every encrypted column."""
    counts = Counter()
    for spec in ENCRYPTED_FIELDS:
        counts.update(key_id_or_unknown(token) for token in spec.rows().values_list(spec.field, flat=True).iterator())
    return dict(counts)


def rotate_all(*, batch_size: int = 500) -> dict[str, int]:
    """Re-encrypt every secret not on the active key; idempotent. Returns key_counts() afterwards;
    raises RotationError (after rotating every other row) if any row fails to decrypt."""
    failed = []
    for spec in ENCRYPTED_FIELDS:
        failed += [(spec.model, pk) for pk in _rotate_column(spec, batch_size)]
    if failed:
        raise RotationError(failed)
    return key_counts()


def _rotate_column(spec: EncryptedField, batch_size: int) -> list:
    active, failed = crypto.keyring().active_kid, []
    for page in _batches(spec, batch_size):
        for row in page:
            token = getattr(row, spec.field)
            if key_id_or_unknown(token) != active and not _rotate_one(spec, row, token):
                failed.append(row.pk)
    return failed


def _rotate_one(spec: EncryptedField, row, token: str) -> bool:
    """Compare-and-swap, so a row changed meanwhile (deleted, re-keyed) is left alone."""
    try:
        new = crypto.reencrypt(token, aad=spec.aad(row))
    except crypto.DecryptionError:
        return False
    type(row).objects.filter(pk=row.pk, **{spec.field: token}).update(**{spec.field: new})
    return True


def _batches(spec: EncryptedField, batch_size: int):
    """Keyset pages by primary key: stable while rows are rewritten, one query per page."""
    last_pk = None
    while True:
        rows = spec.rows().order_by("pk").only("pk", "workspace_id", spec.field)
        page = list((rows.filter(pk__gt=last_pk) if last_pk is not None else rows)[:batch_size])
        if not page:
            return
        yield page
        last_pk = page[-1].pk
