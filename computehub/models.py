"""Models of the core app. Only plumbing lives here; business data belongs to the feature apps."""

from django.db import models


class ChannelMessage(models.Model):
    """One group message in the outbox that carries live events between processes without Redis.

    Senders (web, qcluster workers, management commands) insert a row; every web process tails the
    table by id and hands new rows to its local WebSocket consumers (computehub.channel_layer).
    Rows are short-lived: they are pruned after a few minutes.
    """

    id = models.BigAutoField(primary_key=True)
    group = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"#{self.id} → {self.group}"
