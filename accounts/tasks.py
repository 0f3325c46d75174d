"""django-q2 entry points for accounts. Thin: they call a service."""

from django_q.tasks import async_task


def invitation_send(invitation_id):
    from accounts.services import invitation_send_email

    invitation_send_email(invitation_id=invitation_id)


def invitation_send_task(invitation_id) -> None:
    async_task("accounts.tasks.invitation_send", str(invitation_id), task_name="invitation-send")


def purge_expired_invitations():
    from accounts.services import invitation_purge_expired

    return invitation_purge_expired()
