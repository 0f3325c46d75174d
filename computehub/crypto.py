"""Secrets at rest: AES-256-GCM with key ids and per-row associated data (reliability.md §3.3).

Stored form: ``v1:aesgcm:<kid>:<base64url(nonce || ciphertext || tag)>`` (no padding).

- Keys come from ``settings.COMPUTEHUB_ENCRYPTION_KEYS = "kid2:<b64 32 bytes>,kid1:<...>"``. The
  first key encrypts; every listed key decrypts, so rotation is: put a new key first, run
  ``reencrypt`` over the rows (``needs_rotation`` finds them), then drop the old key.
- The associated data (``aad_for``) binds a ciphertext to its model, field, workspace and row,
  so a database-level attacker cannot paste one tenant's secret into another tenant's row.
- Failure is loud: ``DecryptionError``, never the ciphertext handed back as if it were the secret
  (the mistake several field libraries make). Messages and logs carry no secret material.
- Nothing is derived from ``SECRET_KEY``: rotating that after a session-signing incident must not
  force re-encrypting every stored key.
"""

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

logger = logging.getLogger(__name__)

PREFIX = "v1:aesgcm:"
NONCE_BYTES = 12  # 96-bit, the size GCM is specified for; random, so never reuse a counter
KEY_BYTES = 32  # AES-256
TAG_BYTES = 16
LOCAL_KEYS_FILE = "encryption_keys"
LOCAL_FINGERPRINT_FILE = "fingerprint_key"
FINGERPRINT_INFO = b"computehub-fingerprint"
_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_NEW_KEY_HINT = (
    'generate one with: python -c "import base64,os;'
    "print('k1:'+base64.b64encode(os.urandom(32)).decode())\""
)


class DecryptionError(Exception):
    """A stored secret could not be decrypted. The message never contains the value itself."""


@dataclass(frozen=True)
class KeyRing:
    active_kid: str
    keys: MappingProxyType  # kid -> 32 key bytes, in configured order (active first)


# --- Key configuration -----------------------------------------------------------------------


def _config_error(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"COMPUTEHUB_ENCRYPTION_KEYS: {message}")


def _decode_b64(text: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional (operators paste both)."""
    text = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _parse_entry(position: int, entry: str) -> tuple[str, bytes]:
    kid, sep, encoded = entry.partition(":")
    kid = kid.strip()
    if not sep:
        # Name the position, not the text: a key pasted without "<kid>:" is pure key material.
        raise _config_error(f"entry #{position} is not in the form <kid>:<base64 key>.")
    if not _KID.fullmatch(kid):
        raise _config_error(f"entry #{position} has an invalid key id (use 1-32 of A-Z a-z 0-9 - _).")
    key = _decode_b64(encoded)
    if key is None:
        raise _config_error(f"key {kid!r} is not valid base64.")
    if len(key) != KEY_BYTES:
        raise _config_error(f"key {kid!r} decodes to {len(key)} bytes; AES-256 needs exactly {KEY_BYTES}.")
    return kid, key


def _reject_reused_material(keys: dict[str, bytes]) -> None:
    """Two kids with one key would make "remove the old kid" silently drop a live key."""
    seen: dict[bytes, str] = {}
    for kid, key in keys.items():
        if key in seen:
            raise _config_error(f"keys {seen[key]!r} and {kid!r} are the same key; give each kid its own.")
        seen[key] = kid


@lru_cache(maxsize=8)
def _parse_keyring(raw: str) -> KeyRing:
    """Cached per configured value, so override_settings in tests and live edits both just work."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise _config_error(f"contains no keys; {_NEW_KEY_HINT}")
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(entries, start=1):
        kid, key = _parse_entry(position, entry)
        if kid in keys:
            raise _config_error(f"key id {kid!r} appears more than once.")
        keys[kid] = key
    _reject_reused_material(keys)
    return KeyRing(active_kid=next(iter(keys)), keys=MappingProxyType(keys))


def _create_exclusively(path: Path, content: str) -> None:
    """Write a 0600 file via temp file + hard link, so when the web and worker processes start
    together exactly one generated key wins and both use it (two keys would lose data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(content + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first; read theirs
    finally:
        tmp.unlink(missing_ok=True)


def _local_value(filename: str, generate) -> str:
    """A value kept under VAR_DIR for local DEBUG runs (`make run` works from a fresh clone)."""
    path = Path(settings.VAR_DIR) / filename
    if not path.exists():
        _create_exclusively(path, generate())
        logger.warning("Generated a local development key in %s (DEBUG only; set it in production).", path)
    return path.read_text().strip()


def _new_random_key() -> str:
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


def _configured_keys() -> str:
    raw = (getattr(settings, "COMPUTEHUB_ENCRYPTION_KEYS", "") or "").strip()
    if raw:
        return raw
    if settings.DEBUG:
        return _local_value(LOCAL_KEYS_FILE, lambda: "local1:" + _new_random_key())
    raise _config_error(
        "not set. Set it to '<kid>:<base64 of 32 random bytes>' (newest key first, comma-separated), "
        f"kept outside the database and the repository; {_NEW_KEY_HINT}"
    )


def keyring() -> KeyRing:
    """The validated key ring; raises ImproperlyConfigured naming the bad kid (never the key)."""
    return _parse_keyring(_configured_keys())


# --- Token format ----------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_strict(text: str) -> bytes | None:
    """Decode, then insist the text is the canonical encoding: otherwise the spare bits of the
    last character could be changed without changing the bytes, i.e. undetected tampering."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64url(data) == text else None


def _fail(reason: str, *, kid: str | None = None, aad: str | None = None) -> NoReturn:
    # Kid and AAD name the key and the row, which operators need; neither is secret.
    logger.error("Secret decryption failed: %s (key id %s, aad %s)", reason, kid or "-", aad or "-")
    where = f" (key id {kid!r})" if kid else ""
    raise DecryptionError(f"Cannot decrypt stored secret{where}: {reason}.") from None


def _split(token: str) -> tuple[str, bytes]:
    if not isinstance(token, str) or not token.startswith(PREFIX):
        _fail("not a v1:aesgcm value")
    kid, sep, encoded = token[len(PREFIX) :].partition(":")
    if not sep or not _KID.fullmatch(kid):
        _fail("malformed value")
    blob = _b64url_strict(encoded)
    if blob is None or len(blob) < NONCE_BYTES + TAG_BYTES:
        _fail("malformed value", kid=kid)
    return kid, blob


def _associated_data(kid: str, aad: str) -> bytes:
    # The header is authenticated too, so the stored prefix cannot be edited undetected.
    return f"{PREFIX}{kid}|{aad}".encode()


def _require_aad(aad: str) -> None:
    if not isinstance(aad, str) or not aad:
        raise ValueError("aad is required: it binds the secret to its row (use aad_for()).")


# --- Public API ------------------------------------------------------------------------------


def aad_for(model_label: str, field: str, workspace_id, row_pk) -> str:
    """``"<app>.<model>.<field>:<workspace_id>:<row_pk>"``; the label is lower-cased so
    ``_meta.label`` and ``_meta.label_lower`` agree. Needs the row's pk, so encrypt after the
    first save or use a UUID primary key (set at instantiation)."""
    app, dot, model = model_label.lower().partition(".")
    if not (app and dot and model) or "." in model:
        raise ValueError("model_label must look like 'providers.ProviderCredential'.")
    if not field.isidentifier():
        raise ValueError("field must be a model field name.")
    if workspace_id is None or row_pk is None:
        raise ValueError("workspace_id and row_pk are required: the ciphertext is bound to both.")
    return f"{app}.{model}.{field}:{workspace_id}:{row_pk}"


@sensitive_variables("plaintext")
def encrypt(plaintext: str, *, aad: str) -> str:
    _require_aad(aad)
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.active_kid]).encrypt(
        nonce, plaintext.encode("utf-8"), _associated_data(ring.active_kid, aad)
    )
    return f"{PREFIX}{ring.active_kid}:{_b64url(nonce + sealed)}"


@sensitive_variables("token", "plaintext")
def decrypt(token: str, *, aad: str) -> str:
    _require_aad(aad)
    kid, blob = _split(token)
    key = keyring().keys.get(kid)
    if key is None:
        _fail("unknown key id (was it removed from COMPUTEHUB_ENCRYPTION_KEYS?)", kid=kid, aad=aad)
    try:
        plaintext = AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _associated_data(kid, aad))
    except InvalidTag:
        _fail("authentication failed (tampered value, wrong key or moved to another row)", kid=kid, aad=aad)
    return plaintext.decode("utf-8")


def key_id_of(token: str) -> str:
    return _split(token)[0]


def needs_rotation(token: str) -> bool:
    return key_id_of(token) != keyring().active_kid


@sensitive_variables("token")
def reencrypt(token: str, *, aad: str) -> str:
    """Move a value to the active key; already-current values come back unchanged (idempotent,
    so a batched rotation command can be re-run without rewriting rows)."""
    if not needs_rotation(token):
        return token
    return encrypt(decrypt(token, aad=aad), aad=aad)


# --- Fingerprints (dedup without decrypting) -------------------------------------------------
# Why a dedicated COMPUTEHUB_FINGERPRINT_KEY rather than HKDF of the active encryption key:
# fingerprints are stored to answer "is this key already connected?". Deriving them from the
# active encryption key would change every fingerprint at each rotation, silently breaking
# dedup (or forcing a recompute that needs every plaintext). A separate key (reliability.md
# §3.3, as NetBox's pepper) stays stable while encryption keys rotate, and a leak of one key
# does not weaken the other. HKDF still separates it from any other use of the same material.


def _fingerprint_material() -> str:
    raw = (getattr(settings, "COMPUTEHUB_FINGERPRINT_KEY", "") or "").strip()
    if raw:
        return raw
    if settings.DEBUG:
        return _local_value(LOCAL_FINGERPRINT_FILE, _new_random_key)
    raise ImproperlyConfigured(
        "COMPUTEHUB_FINGERPRINT_KEY: not set. Set it to base64 of 32 random bytes, separate from "
        "the encryption keys and never rotated casually (it keys stored fingerprints); generate "
        "one with: python -c \"import base64,os;print(base64.b64encode(os.urandom(32)).decode())\""
    )


@lru_cache(maxsize=4)
def _fingerprint_key(raw: str) -> bytes:
    material = _decode_b64(raw)
    if material is None or len(material) < KEY_BYTES:
        raise ImproperlyConfigured(
            f"COMPUTEHUB_FINGERPRINT_KEY: must be base64 of at least {KEY_BYTES} bytes."
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=FINGERPRINT_INFO).derive(material)


@sensitive_variables("secret")
def fingerprint(secret: str) -> str:
    """Keyed HMAC-SHA256, first 16 hex chars: equal secrets match, and a database dump alone
    cannot be brute-forced against known keys the way a plain hash could."""
    key = _fingerprint_key(_fingerprint_material())
    return hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


@sensitive_variables("secret")
def last4(secret: str) -> str:
    """The last four characters for display; empty for secrets under 12 characters, where four
    would give away a third or more of the value."""
    return secret[-4:] if len(secret) >= 12 else ""
