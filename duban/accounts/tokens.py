"""API keys for other systems. Keys are random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from duban.accounts.models import ApiClient
from duban.audit.services import audit_record, snapshot


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def api_client_create(
    *, name: str, scope: str, actor, department=None, raw_key: str | None = None
) -> tuple[ApiClient, str]:
    """Create a client and return it with its key (the only time the key is seen)."""
    raw = raw_key or secrets.token_urlsafe(32)
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name,
            scope=scope,
            department=department,
            key_hash=key_hash(raw),
            key_prefix=raw[:8],
        )
        audit_record(
            actor=actor,
            action="api_client.create",
            instance=client,
            after=snapshot(client, exclude=("key_hash",)),
        )
    return client, raw


def api_client_for_key(raw: str | None, *, scope: str) -> ApiClient | None:
    """The active client with this key and scope, or None. Constant work whatever the key."""
    if not raw or len(raw) > 200:
        return None
    # The key hash is unique: no ORDER BY (first() would add one) for the database to sort.
    rows = list(
        ApiClient.objects.filter(key_hash=key_hash(raw), scope=scope, is_active=True)
        .select_related("department")
        .order_by()[:1]
    )
    return rows[0] if rows else None
