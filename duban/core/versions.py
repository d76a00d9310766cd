"""Version tokens: one row per kind of data whose token is replaced, in the writer's
transaction, by every write to that data, so that what was computed from the data can be
kept under the token and is never served after the data changed. Random tokens rather
than counters: a rolled-back transaction (or test) can never bring an old token back.

A token model has ``id`` (always 1) and ``token``; see ``plans.PlanVersion`` and
``projects.PipelineVersion``."""

from __future__ import annotations

import uuid


def token_replace(model) -> None:
    token = uuid.uuid4().hex
    if not model.objects.filter(pk=1).update(token=token):
        model.objects.update_or_create(pk=1, defaults={"token": token})


def token_read(model) -> str:
    token = model.objects.filter(pk=1).values_list("token", flat=True).first()
    if token is None:
        token_replace(model)
        return token_read(model)
    return token


def replace_on_writes(receiver, models, *, uid: str) -> None:
    """Call `receiver` on every ORM save and delete of `models` (bulk writes send no
    signals: their writers call it themselves)."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        label = f"{uid}-{model._meta.label_lower}"
        post_save.connect(receiver, sender=model, dispatch_uid=label + "-save")
        post_delete.connect(receiver, sender=model, dispatch_uid=label + "-delete")
