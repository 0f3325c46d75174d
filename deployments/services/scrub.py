"""Provider messages end up in `last_error` and on the timeline, which Viewers read. A provider
that echoes the request body back in an error would show the deployment's secret variables, so
every secret value is cut out of a message before it is stored (the API key is already cut out
by the adapters)."""

import json
import logging

from deployments.services.create import secret_env_of

logger = logging.getLogger(__name__)

MASK = "********"
UNREADABLE = "The provider returned an error (details hidden: ComputeHub could not check them for secrets)."


def _forms(value: str) -> list[str]:
    # A body echoed as JSON carries the value escaped; cut both spellings, the longer first.
    escaped = json.dumps(value)[1:-1]
    return sorted({value, escaped}, key=len, reverse=True)


def scrub_secrets(deployment, message: str) -> str:
    """`message` with every secret env value of `deployment` replaced by a mask."""
    message = str(message)
    try:
        secrets = secret_env_of(deployment)
    except Exception:  # cannot decrypt, so cannot know what to cut: show nothing of it
        logger.warning("Could not read deployment %s's secret env to scrub a message", deployment.pk)
        return UNREADABLE
    for value in sorted(secrets.values(), key=len, reverse=True):
        for form in _forms(str(value)) if value else ():
            message = message.replace(form, MASK)
    return message
