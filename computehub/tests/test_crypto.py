"""Secrets at rest: format, authentication, row binding, rotation, configuration, no leaks."""

import base64
import hashlib
import logging
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from computehub import crypto
from computehub.crypto import DecryptionError

SECRET = "rpa_LIVE_9f8e7d6c5b4a3210-secret-Ab12"
AAD = crypto.aad_for("providers.ProviderCredential", "api_key", 7, 42)
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64key(fill: int, length: int = 32) -> str:
    return base64.b64encode(bytes([fill]) * length).decode()


def blob_of(token: str) -> bytes:
    """nonce || ciphertext || tag, decoded from a stored value."""
    encoded = token.rsplit(":", 1)[1]
    return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


@pytest.fixture
def keys(settings):
    """Sets COMPUTEHUB_ENCRYPTION_KEYS from (kid, fill byte) pairs, newest first."""

    def configure(*pairs: tuple[str, int]) -> None:
        settings.COMPUTEHUB_ENCRYPTION_KEYS = ",".join(f"{kid}:{b64key(fill)}" for kid, fill in pairs)

    return configure


@pytest.fixture
def fingerprint_key(settings):
    settings.COMPUTEHUB_FINGERPRINT_KEY = b64key(0xF0)


# --- Format and round trip -------------------------------------------------------------------


def test_round_trip_with_the_configured_test_key():
    token = crypto.encrypt(SECRET, aad=AAD)
    assert token.startswith("v1:aesgcm:test1:")
    assert SECRET not in token
    assert crypto.decrypt(token, aad=AAD) == SECRET


def test_round_trip_keeps_unicode_and_empty_values():
    for value in ("", "ключ-🔑-clé"):
        assert crypto.decrypt(crypto.encrypt(value, aad=AAD), aad=AAD) == value


def test_two_encryptions_of_one_secret_differ_because_the_nonce_is_random():
    first, second = crypto.encrypt(SECRET, aad=AAD), crypto.encrypt(SECRET, aad=AAD)
    assert first != second
    assert blob_of(first)[:12] != blob_of(second)[:12]


def test_aad_is_required():
    with pytest.raises(ValueError):
        crypto.encrypt(SECRET, aad="")
    with pytest.raises(ValueError):
        crypto.decrypt(crypto.encrypt(SECRET, aad=AAD), aad="")


# --- Tampering and row binding ---------------------------------------------------------------


def test_changing_any_character_of_the_stored_value_is_detected():
    token = crypto.encrypt(SECRET, aad=AAD)
    for index, char in enumerate(token):
        replacement = "A" if char != "A" else "B"
        with pytest.raises(DecryptionError):
            crypto.decrypt(token[:index] + replacement + token[index + 1 :], aad=AAD)


def test_flipping_any_byte_of_nonce_ciphertext_or_tag_is_detected():
    token = crypto.encrypt(SECRET, aad=AAD)
    head, blob = token.rsplit(":", 1)[0], blob_of(token)
    for index in range(len(blob)):
        flipped = blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]
        with pytest.raises(DecryptionError):
            crypto.decrypt(f"{head}:{crypto._b64url(flipped)}", aad=AAD)


def test_non_canonical_base64_with_same_bytes_is_rejected():
    # Secret + 12 nonce + 16 tag bytes is not a multiple of 3, so the last base64 character has
    # spare low bits that a lenient decoder ignores. Changing only those must count as tampering.
    token = crypto.encrypt(SECRET, aad=AAD)
    assert (len(SECRET) + 28) % 3 != 0
    spare_bit_twin = B64_ALPHABET[B64_ALPHABET.index(token[-1]) ^ 0b0001]
    twin = token[:-1] + spare_bit_twin
    assert blob_of(twin) == blob_of(token)
    with pytest.raises(DecryptionError, match="malformed"):
        crypto.decrypt(twin, aad=AAD)


def test_truncated_or_foreign_values_are_rejected_not_returned():
    token = crypto.encrypt(SECRET, aad=AAD)
    foreign = ("plain-text-key", SECRET, "v1:aesgcm:test1:", "v1:aesgcm:bad kid:AAAA", "enc:fernet:k1:gAAA")
    for bad in (token[:-5], token + "A", *foreign):
        with pytest.raises(DecryptionError):
            crypto.decrypt(bad, aad=AAD)


def test_value_moved_to_another_workspace_or_row_does_not_decrypt():
    token = crypto.encrypt(SECRET, aad=AAD)
    other_rows = [
        crypto.aad_for("providers.ProviderCredential", "api_key", 8, 42),  # another team
        crypto.aad_for("providers.ProviderCredential", "api_key", 7, 43),  # another row
        crypto.aad_for("automation.NotificationChannel", "api_key", 7, 42),  # another model
        crypto.aad_for("providers.ProviderCredential", "secret", 7, 42),  # another field
    ]
    for aad in other_rows:
        with pytest.raises(DecryptionError, match="authentication failed"):
            crypto.decrypt(token, aad=aad)


def test_aad_for_format_and_validation():
    assert crypto.aad_for("providers.ProviderCredential", "api_key", 7, 42) == (
        "providers.providercredential.api_key:7:42"
    )
    assert crypto.aad_for("providers.providercredential", "api_key", 7, 42) == AAD
    for label, field, workspace, pk in [
        ("ProviderCredential", "api_key", 7, 42),
        ("a.b.c", "api_key", 7, 42),
        ("providers.ProviderCredential", "api key", 7, 42),
        ("providers.ProviderCredential", "api_key", None, 42),
        ("providers.ProviderCredential", "api_key", 7, None),
    ]:
        with pytest.raises(ValueError):
            crypto.aad_for(label, field, workspace, pk)


# --- Key ids and rotation --------------------------------------------------------------------


def test_unknown_key_id_raises(keys):
    keys(("old", 1))
    token = crypto.encrypt(SECRET, aad=AAD)
    keys(("new", 2))
    with pytest.raises(DecryptionError, match="unknown key id"):
        crypto.decrypt(token, aad=AAD)


def test_same_kid_with_different_key_material_fails_authentication(keys):
    keys(("k1", 1))
    token = crypto.encrypt(SECRET, aad=AAD)
    keys(("k1", 2))
    with pytest.raises(DecryptionError, match="authentication failed"):
        crypto.decrypt(token, aad=AAD)


def test_rotation_old_rows_decrypt_then_move_to_the_new_key(keys):
    keys(("k1", 1))
    rows = {crypto.aad_for("providers.ProviderCredential", "api_key", 7, pk): f"key-{pk}" for pk in range(3)}
    stored = {aad: crypto.encrypt(value, aad=aad) for aad, value in rows.items()}

    keys(("k2", 2), ("k1", 1))  # new key first: it encrypts, both decrypt
    assert all(crypto.decrypt(token, aad=aad) == rows[aad] for aad, token in stored.items())
    assert all(crypto.needs_rotation(token) for token in stored.values())
    assert crypto.key_id_of(crypto.encrypt("fresh", aad=AAD)) == "k2"

    rotated = {aad: crypto.reencrypt(token, aad=aad) for aad, token in stored.items()}
    assert {crypto.key_id_of(token) for token in rotated.values()} == {"k2"}
    assert not any(crypto.needs_rotation(token) for token in rotated.values())
    first_aad = next(iter(rotated))
    assert crypto.reencrypt(rotated[first_aad], aad=first_aad) == rotated[first_aad]  # idempotent

    keys(("k2", 2))  # old key removed: rotated rows still decrypt, unrotated ones would not
    assert all(crypto.decrypt(token, aad=aad) == rows[aad] for aad, token in rotated.items())
    with pytest.raises(DecryptionError):
        crypto.decrypt(next(iter(stored.values())), aad=next(iter(stored)))


def test_reencrypt_refuses_a_value_bound_to_another_row(keys):
    keys(("k1", 1))
    token = crypto.encrypt(SECRET, aad=AAD)
    keys(("k2", 2), ("k1", 1))
    with pytest.raises(DecryptionError):
        crypto.reencrypt(token, aad=crypto.aad_for("providers.ProviderCredential", "api_key", 8, 42))


def test_key_id_of_malformed_value_raises():
    with pytest.raises(DecryptionError):
        crypto.key_id_of("enc:fernet:k1:abc")


# --- Configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        (f"k1:{b64key(1)},k1:{b64key(2)}", "'k1' appears more than once"),
        ("k1:not*base64!", "'k1' is not valid base64"),
        (f"k1:{b64key(1, 16)}", "'k1' decodes to 16 bytes"),
        (f"k1:{b64key(1, 33)}", "'k1' decodes to 33 bytes"),
        (f"k1:{b64key(1)},k2:{b64key(1)}", "'k1' and 'k2' are the same key"),
        (f"k1:{b64key(1)},{b64key(2)}", "entry #2 is not in the form"),
        (f"bad kid!:{b64key(1)}", "entry #1 has an invalid key id"),
        (" , ,", "contains no keys"),
    ],
)
def test_bad_key_configuration_is_named_without_key_material(settings, value, message):
    settings.COMPUTEHUB_ENCRYPTION_KEYS = value
    with pytest.raises(ImproperlyConfigured, match=message) as excinfo:
        crypto.encrypt(SECRET, aad=AAD)
    for fill in (1, 2):
        for length in (16, 32, 33):
            assert b64key(fill, length) not in str(excinfo.value)


def test_urlsafe_and_unpadded_keys_are_accepted(settings):
    raw = base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert "-" in raw or "_" in raw
    settings.COMPUTEHUB_ENCRYPTION_KEYS = f"k1:{raw}"
    assert crypto.keyring().keys["k1"] == bytes(range(200, 232))


def test_missing_keys_outside_debug_refuse_to_start(settings, tmp_path):
    settings.COMPUTEHUB_ENCRYPTION_KEYS = ""
    settings.DEBUG = False
    settings.VAR_DIR = tmp_path
    with pytest.raises(ImproperlyConfigured, match="not set"):
        crypto.encrypt(SECRET, aad=AAD)
    assert not (tmp_path / crypto.LOCAL_KEYS_FILE).exists()


def test_missing_keys_in_debug_generate_one_local_key_file(settings, tmp_path):
    settings.COMPUTEHUB_ENCRYPTION_KEYS = ""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    token = crypto.encrypt(SECRET, aad=AAD)
    path = tmp_path / crypto.LOCAL_KEYS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kid, encoded = path.read_text().strip().split(":")
    assert crypto.key_id_of(token) == kid and len(base64.b64decode(encoded)) == 32
    assert crypto.decrypt(token, aad=AAD) == SECRET  # the same key is read back, not regenerated
    assert [p.name for p in tmp_path.iterdir()] == [crypto.LOCAL_KEYS_FILE]  # temp file cleaned


def test_local_key_is_random_not_derived_from_secret_key(settings, tmp_path):
    settings.COMPUTEHUB_ENCRYPTION_KEYS = ""
    settings.DEBUG = True
    generated = []
    for name in ("one", "two"):  # same SECRET_KEY both times
        settings.VAR_DIR = tmp_path / name
        generated.append(crypto.keyring().keys)
    assert dict(generated[0]) != dict(generated[1])


def test_existing_local_key_file_is_used_not_replaced(settings, tmp_path):
    (tmp_path / crypto.LOCAL_KEYS_FILE).write_text(f"mine:{b64key(9)}\n")
    settings.COMPUTEHUB_ENCRYPTION_KEYS = ""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    assert crypto.keyring().active_kid == "mine"
    crypto._create_exclusively(tmp_path / crypto.LOCAL_KEYS_FILE, f"late:{b64key(8)}")
    assert (tmp_path / crypto.LOCAL_KEYS_FILE).read_text().startswith("mine:")


# --- Nothing secret in errors or logs --------------------------------------------------------


def test_failures_never_reveal_the_secret_or_token(keys, caplog):
    keys(("k1", 1))
    token = crypto.encrypt(SECRET, aad=AAD)
    body = token.rsplit(":", 1)[1]
    attempts = [
        (token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"), AAD),
        (token, crypto.aad_for("providers.ProviderCredential", "api_key", 8, 42)),
        (token.replace("v1:aesgcm:", "v2:aesgcm:"), AAD),
    ]
    caplog.set_level(logging.DEBUG)
    messages = []
    for bad_token, aad in attempts:
        with pytest.raises(DecryptionError) as excinfo:
            crypto.decrypt(bad_token, aad=aad)
        messages.append(str(excinfo.value))
        assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    keys(("k2", 2))
    with pytest.raises(DecryptionError) as excinfo:
        crypto.decrypt(token, aad=AAD)
    messages.append(str(excinfo.value))

    errors = [r for r in caplog.records if r.name == "computehub.crypto" and r.levelno == logging.ERROR]
    assert len(errors) == 4
    for text in [*messages, caplog.text]:
        assert SECRET not in text and body not in text and body[:16] not in text
        assert b64key(1) not in text and b64key(2) not in text


# --- Fingerprint and last4 -------------------------------------------------------------------


def test_fingerprint_is_keyed_stable_and_short(fingerprint_key):
    value = crypto.fingerprint(SECRET)
    assert len(value) == 16 and int(value, 16) >= 0
    assert crypto.fingerprint(SECRET) == value
    assert crypto.fingerprint(SECRET + "x") != value
    assert value != hashlib.sha256(SECRET.encode()).hexdigest()[:16]  # keyed, not a plain hash


def test_fingerprint_survives_encryption_key_rotation(fingerprint_key, keys):
    keys(("k1", 1))
    before = crypto.fingerprint(SECRET)
    keys(("k2", 2), ("k1", 1))
    assert crypto.fingerprint(SECRET) == before


def test_fingerprint_changes_with_its_own_key(settings, fingerprint_key):
    before = crypto.fingerprint(SECRET)
    settings.COMPUTEHUB_FINGERPRINT_KEY = b64key(0xF1)
    assert crypto.fingerprint(SECRET) != before


def test_fingerprint_key_is_required_and_validated(settings, tmp_path):
    settings.DEBUG = False
    settings.COMPUTEHUB_FINGERPRINT_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="COMPUTEHUB_FINGERPRINT_KEY: not set"):
        crypto.fingerprint(SECRET)
    settings.COMPUTEHUB_FINGERPRINT_KEY = b64key(3, 16)
    with pytest.raises(ImproperlyConfigured, match="at least 32 bytes") as excinfo:
        crypto.fingerprint(SECRET)
    assert b64key(3, 16) not in str(excinfo.value)
    settings.DEBUG, settings.VAR_DIR, settings.COMPUTEHUB_FINGERPRINT_KEY = True, tmp_path, ""
    assert crypto.fingerprint(SECRET) == crypto.fingerprint(SECRET)
    assert stat.S_IMODE((tmp_path / crypto.LOCAL_FINGERPRINT_FILE).stat().st_mode) == 0o600


def test_last4_shows_only_the_tail_of_long_secrets():
    assert crypto.last4(SECRET) == "Ab12"
    assert crypto.last4("short-key") == ""
