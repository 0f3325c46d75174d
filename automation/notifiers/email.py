"""Email through Django's mail framework (EMAIL_BACKEND decides SMTP, console or locmem)."""

import smtplib

from django.core.mail import send_mail

from automation.notifiers.base import Message, Result, clip


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def send(channel, message: Message) -> Result:
    addresses = list(channel.config.get("addresses") or [])
    if not addresses:
        return Result.refused("No email addresses configured.", permanent=True)
    try:
        send_mail(_one_line(message.subject), message.body, None, addresses, fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        return Result.refused(clip(f"SMTP error: every recipient was refused ({refused})."), permanent=True)
    except smtplib.SMTPResponseException as exc:
        text = f"SMTP error {exc.smtp_code}: {_smtp_text(exc.smtp_error)}"
        if 500 <= exc.smtp_code < 600:
            return Result.refused(clip(text))
        return Result.transient(clip(text))
    except (smtplib.SMTPException, OSError) as exc:
        return Result.transient(clip(f"SMTP error: {type(exc).__name__}: {exc}"))
    return Result.sent(f"Sent to {len(addresses)} address{'es' if len(addresses) != 1 else ''}")


def _smtp_text(error) -> str:
    return error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
