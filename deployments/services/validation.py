"""Checks on what a person asks to launch, all made before anything is written or rented.
Each returns a cleaned value or adds a message under its field; `Errors.raise_if_any` then
refuses the whole request at once, so the form shows every problem together."""

import re

from django.conf import settings

from accounts.ssh_keys_service import workspace_authorized_keys
from computehub.errors import ApplicationError

NAME_MAX = 80
PORTS_MAX = 20
ENV_VALUE_MAX = 4096
DISK_MAX_GB = 10_000
IMAGE_MAX = 255  # the OCI distribution spec's limit for a repository name with its registry

# The Docker/OCI reference grammar (distribution/reference): lowercase path components joined by
# "/", an optional registry host first, then ":tag" and/or "@digest".
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:localhost|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ASCII control characters: they break HTTP headers (a file name) and terminals, and PostgreSQL
# cannot store NUL in text at all.
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class Errors:
    def __init__(self):
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            raise ApplicationError(f"Please correct the highlighted fields. {first}", fields=self.fields)


def clean_name(name, errors: Errors) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        errors.add("name", "A name is required.")
    elif len(name) > NAME_MAX:
        errors.add("name", f"At most {NAME_MAX} characters.")
    elif CONTROL_CHARS.search(name):
        errors.add("name", "A name cannot contain control characters such as line breaks.")
    return name


def image_problem(image: str) -> str | None:
    """Why `image` is not a valid OCI reference, or None."""
    if not image:
        return "An image is required, e.g. vllm/vllm-openai:latest."
    if len(image) > IMAGE_MAX or any(ch.isspace() for ch in image):
        return "An image reference has no spaces and is at most 255 characters."
    rest, _, digest = image.partition("@")
    if "@" in image and not _DIGEST.fullmatch(digest):
        return "The digest after @ must look like sha256:<hex>."
    last_slash = rest.rfind("/")
    name, colon, tag = rest.rpartition(":") if ":" in rest[last_slash + 1:] else (rest, "", "")
    if colon and not _TAG.fullmatch(tag):
        return f"{tag!r} is not a valid tag."
    return _name_problem(name)


def _name_problem(name: str) -> str | None:
    parts = name.split("/")
    # Like docker: the first part is a registry only if it looks like a host.
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if not _DOMAIN.fullmatch(parts[0]):
            return f"{parts[0]!r} is not a valid registry host."
        parts = parts[1:]
    for part in parts:
        if not _COMPONENT.fullmatch(part):
            return (f"{part or '(empty)'!r} is not a valid repository name: use lowercase letters, "
                    "digits and . _ - separators.")
    return None


def clean_image(image, errors: Errors) -> str:
    image = image.strip() if isinstance(image, str) else ""
    problem = image_problem(image)
    if problem:
        errors.add("image", problem)
    return image


def clean_command(command, errors: Errors) -> list[str]:
    if isinstance(command, str):
        errors.add("command", "Give the command as a list of arguments.")
        return []
    command = list(command or ())
    if not all(isinstance(arg, str) for arg in command):
        errors.add("command", "Every argument must be text.")
    return command


def clean_ports(ports, errors: Errors) -> list[int]:
    ports = list(ports or ())
    bad = [p for p in ports if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535]
    if bad:
        errors.add("ports", f"Ports are whole numbers from 1 to 65535 (got {bad[0]!r}).")
    elif len(set(ports)) != len(ports):
        errors.add("ports", "Each port can be exposed only once.")
    elif len(ports) > PORTS_MAX:
        errors.add("ports", f"At most {PORTS_MAX} ports.")
    return ports


def clean_env(env, field: str, errors: Errors) -> dict[str, str]:
    env = env or {}
    if not isinstance(env, dict):
        errors.add(field, "Give variables as NAME: value pairs.")
        return {}
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            errors.add(field, f"{key!r} is not a valid variable name (letters, digits and _, not starting with a digit).")
        elif not isinstance(value, str):
            errors.add(field, f"The value of {key} must be text.")
        elif len(value.encode()) > ENV_VALUE_MAX:
            # A secret's value is never echoed back, only its name.
            errors.add(field, f"The value of {key} is longer than 4 KB.")
    return dict(env)


def clean_disk(disk_gb, template, errors: Errors) -> int:
    minimum = template.disk_gb if template is not None else 1
    if isinstance(disk_gb, bool) or not isinstance(disk_gb, int):
        errors.add("disk_gb", "Disk size is a whole number of GB.")
    elif disk_gb < minimum:
        errors.add("disk_gb", f"At least {minimum} GB" + (f" for {template.name}." if template else "."))
    elif disk_gb > DISK_MAX_GB:
        errors.add("disk_gb", f"At most {DISK_MAX_GB:,} GB.")
    return disk_gb


def check_spot(*, spot, bid_per_hour, capabilities, min_bid, errors: Errors) -> None:
    if not spot:
        if bid_per_hour is not None:
            errors.add("bid_per_hour", "A bid applies to spot instances only.")
        return
    reason = capabilities.reason("spot")
    if reason:
        errors.add("spot", reason)
    elif bid_per_hour is None or isinstance(bid_per_hour, bool) or not isinstance(bid_per_hour, int | float) \
            or bid_per_hour <= 0:
        errors.add("bid_per_hour", "A spot instance needs a bid ceiling above $0/h.")
    elif min_bid is not None and bid_per_hour < min_bid:
        errors.add("bid_per_hour", f"The bid is below the provider's minimum ${min_bid:g}/h.")


# Providers that refuse a launch without an SSH key (TensorDock's API requires ssh_key).
NEEDS_SSH_KEY = {"tensordock"}


def check_ssh_key(provider: str, errors: Errors, workspace=None) -> None:
    """The workspace's key, a member's key or the operator's COMPUTEHUB_SSH_PUBLIC_KEY will do."""
    if provider not in NEEDS_SSH_KEY:
        return
    has_key = workspace_authorized_keys(workspace=workspace) if workspace else settings.COMPUTEHUB_SSH_PUBLIC_KEY
    if not has_key:
        errors.add("credential", "This provider needs an SSH public key on every instance: an Admin can generate "
                                 "the workspace key under Team → SSH keys.")


def local_provider_on() -> bool:
    return bool(getattr(settings, "COMPUTEHUB_LOCAL_PROVIDER", False))
