from __future__ import annotations

import hashlib
import json

from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS = "0" * 64


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries are never updated")

    def delete(self):
        raise AppendOnlyError("audit entries are never deleted")


class AuditEntry(models.Model):
    """One change of business data. Rows are hash-chained: each row's hash covers its own
    content and the previous row's hash, so a row changed behind the application's back
    breaks the chain from that row on (`duban audit verify`)."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True)  # no FK: deleting a user must not rewrite history
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    # Found through the (entity, entity_id, seq) index; an index of each alone would be
    # one more write in every audited change.
    entity = models.CharField(max_length=80)
    entity_id = models.CharField(max_length=64)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["entity", "entity_id", "seq"])]

    def content_hash(self) -> str:
        return compute_hash(prev_hash=self.prev_hash, seq=self.seq, **self.content())

    def content(self) -> dict:
        """What the hash covers besides the link (prev_hash and seq)."""
        return dict(
            at=self.at.isoformat(),
            actor_id=self.actor_id,
            actor=self.actor,
            action=self.action,
            entity=self.entity,
            entity_id=self.entity_id,
            before=self.before,
            after=self.after,
        )

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit entries are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries are never deleted")


class AuditHead(models.Model):
    """The single row that serialises appends: whoever holds its lock writes the next
    link, so concurrent workers cannot fork the chain."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)


def _canonical(fields: dict) -> str:
    # Canonical JSON: key order and separators fixed, so the hash does not depend on the
    # database's JSON formatting (PostgreSQL jsonb reorders keys).
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compute_hash(**fields) -> str:
    return hashlib.sha256(_canonical(fields).encode("utf-8")).hexdigest()


def payload_before_link(**fields) -> str:
    """compute_hash's payload up to the link, for an entry whose `prev_hash` and `seq` are
    not known yet: both sort last among the keys, so the payload is this text, then the
    previous hash (hex, nothing to escape), then `","seq":`, the number and `}` — what the
    database appends when it takes the link from the chain's head itself (sql.batch() on
    PostgreSQL, see audit.services)."""
    if "prev_hash" in fields or "seq" in fields or max(fields) >= "prev_hash":
        raise ValueError("the link's keys must sort last")
    return _canonical(fields)[:-1] + ',"prev_hash":"'
