"""Writes of the cases module."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import DEFAULT_DB_ALIAS, DatabaseError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from duban import clock
from duban.accounts.tokens import (
    ApiClientChanged,
    api_client_again,
    api_client_changed,
    api_client_confirm,
)
from duban.audit.services import audit_record, snapshot
from duban.cases import conf, rollup
from duban.cases.models import (
    OPEN_STATUSES,
    PRIVATE_FIELDS,
    Attribute,
    CalendarDay,
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    Channel,
    ClockStart,
    Pending,
    Satisfaction,
    Status,
    WorkdayCalendar,
)
from duban.cases.workdays import WorkCalendar, calendar_rows_from_package, store_rows
from duban.core.sql import atomic as sql_atomic
from duban.core.sql import build, insert_row, reserve_key, writer_queue
from duban.core.uploads import IMAGES, upload_check

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------

MAX_PHOTOS = 3
MAX_DESCRIPTION = 4000
SECRET_FIELDS = (*PRIVATE_FIELDS, "tracking_hash", "open311_token")


CHANNELS = frozenset(Channel.values)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value) -> str:
    """Text as stored: without control characters (a NUL is refused by PostgreSQL and
    breaks XML), trimmed."""
    return CONTROL.sub("", str(value or "")).strip()


class TransitionRefused(ValidationError):
    """A step the case's state does not allow; the message says why."""


def tracking_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _label(actor) -> str:
    if actor is None:
        return "citizen"
    if hasattr(actor, "get_username"):
        return actor.get_username()
    return str(actor)


def _audit_snapshot(case: Case) -> dict:
    return snapshot(case, exclude=SECRET_FIELDS)


@dataclass
class Intake:
    case: Case
    created: bool
    tracking_token: str | None = None


def intake_with_client(client, file, *, refusals: tuple, read_again):
    """`file(client)` -> Intake, for an intake whose API client may be given from memory
    (accounts.tokens.api_client_for_key(cached=True)). Such a client is trusted for a new
    case only, stored in a transaction that confirmed it; anything else — one of
    `refusals` (it may rest on a category changed since), an earlier case returned, the
    client found changed (ApiClientChanged) — is decided again with `read_again()`, the
    client read afresh (which refuses a key gone since)."""
    try:
        intake = file(client)
        if intake.created or not api_client_again(client):
            return intake
    except (ApiClientChanged, *refusals):
        if not api_client_again(client):
            raise
    return file(read_again())


def attributes_clean(category: Category, raw: dict) -> dict:
    """Check the answers to a category's extra questions: every required one given, lists
    answered from their values, numbers and times parseable, nothing unknown."""
    attributes = {a.code: a for a in category.attributes.all() if a.variable}
    raw = {
        clean_text(k): [clean_text(v) for v in value]
        if isinstance(value, list)
        else clean_text(value)
        for k, value in raw.items()
    }
    errors = []
    unknown = sorted(set(raw) - set(attributes))
    if unknown:
        errors.append(_("Unknown attributes: %(codes)s.") % {"codes": ", ".join(unknown)})
    clean = {}
    for code, attribute in attributes.items():
        value = raw.get(code)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "", []):
            if attribute.required:
                errors.append(
                    _("Attribute %(code)s (%(q)s) is required.")
                    % {"code": code, "q": attribute.description}
                )
            continue
        keys = [str(v.get("key")) for v in attribute.values or []]
        kind = attribute.datatype
        if kind == Attribute.Datatype.MULTI:
            items = value if isinstance(value, list) else [value]
            items = [str(v).strip() for v in items if str(v).strip()]
            bad = [v for v in items if v not in keys]
            if bad:
                errors.append(
                    _("Attribute %(code)s: %(values)s not among %(keys)s.")
                    % {"code": code, "values": ", ".join(bad), "keys": ", ".join(keys)}
                )
            clean[code] = items
            continue
        if isinstance(value, list):
            if len(value) != 1:
                errors.append(_("Attribute %(code)s takes one value.") % {"code": code})
                continue
            value = str(value[0]).strip()
        value = str(value)
        if kind == Attribute.Datatype.SINGLE and value not in keys:
            errors.append(
                _("Attribute %(code)s: %(value)s is not among %(keys)s.")
                % {"code": code, "value": value[:50], "keys": ", ".join(keys)}
            )
        elif kind == Attribute.Datatype.NUMBER:
            try:
                number = Decimal(value)
                if not number.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors.append(_("Attribute %(code)s must be a number.") % {"code": code})
        elif kind == Attribute.Datatype.DATETIME:
            try:
                dt.datetime.fromisoformat(value)
            except ValueError:
                errors.append(
                    _("Attribute %(code)s must be a date and time (ISO 8601).") % {"code": code}
                )
        limit = 4000 if kind == Attribute.Datatype.TEXT else 200
        if len(value) > limit:
            errors.append(
                _("Attribute %(code)s is too long (at most %(n)s characters).")
                % {"code": code, "n": limit}
            )
        clean[code] = value
    if errors:
        raise ValidationError(errors)
    return clean


def _coordinate(value, name: str, limit: int) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError({name: _("%(name)s is not a number.") % {"name": name}}) from None
    if not -limit <= number <= limit:
        raise ValidationError(
            {name: _("%(name)s must be between -%(n)s and %(n)s.") % {"name": name, "n": limit}}
        )
    return number.quantize(Decimal("0.000001"))


# -- tables kept in memory --------------------------------------------------------------
# The working-day calendar and the service catalogue are read on every intake and change
# rarely. Each worker keeps a copy, valid while the group's stamp in the database (changed
# by triggers on every write of its tables, duban.core.stamps) is the one read with it: one
# small query instead of reading the tables. Contents are read after the stamp, so they are
# never older than the stamp they are kept under.
_memo: dict[tuple[str, str], tuple[int, object]] = {}


def _stamps(*names: str) -> tuple[int | None, ...]:
    """The groups' stamps, in one query; Nones when there is none to trust (read the
    tables every time)."""
    from duban.core import stamps

    found = stamps.read_many(names)
    return found if found is not None else (None,) * len(names)


def _memo_for(name: str, fresh, stamp: int | None):
    """This process's copy of a group of tables, made again by `fresh()` when the stamp
    (read just before) changed; None when there is no stamp to trust."""
    if stamp is None:
        return None
    # The default database's (the alias through the `connection` proxy costs more than
    # the rest of this, see core.sql).
    kept = _memo.get((DEFAULT_DB_ALIAS, name))
    if kept is None or kept[0] != stamp:
        kept = (stamp, fresh())
        _memo[(DEFAULT_DB_ALIAS, name)] = kept
    return kept[1]


_READ = object()  # a stamp not read yet


def _calendar(stamp=_READ) -> WorkCalendar:
    """A WorkCalendar sharing this process's copy of the calendar tables (the stamp is read
    unless given)."""
    if stamp is _READ:
        (stamp,) = _stamps("calendar")
    calendar = WorkCalendar()
    shared = _memo_for(
        "calendar",
        lambda: (set(WorkdayCalendar.objects.values_list("year", flat=True)), {}, {}, {}),
        stamp,
    )
    if shared is not None:
        # The years covered, and the special days of each year read so far (a year is read
        # into the shared dict on first use, for every request after); what each day was
        # found to be; and, for the working hours and time zone in force, each day's
        # periods and the ends of N working days (WorkCalendar).
        calendar._years, calendar._days, calendar._workday, by_hours = shared
        key = (calendar.periods, str(calendar.tz))
        found = by_hours.get(key)
        if found is None:
            found = by_hours[key] = ({}, {})
        calendar._segments, calendar._after_days = found
    return calendar


def category_for_code(code: str, *, stamp=_READ) -> Category | None:
    """The service with this code, active or not, with its attributes (prefetched), from
    this process's copy of the catalogue (the stamp is read unless given). A copy of the
    instance: callers may change it."""

    def load():
        return Category.objects.prefetch_related("attributes").filter(code=code).first()

    if stamp is _READ:
        (stamp,) = _stamps("catalogue")
    kept = _memo_for("catalogue", dict, stamp)
    if kept is None:
        return load()
    if code not in kept:
        category = load()
        if category is None:
            return None
        kept[code] = category
    return copy.copy(kept[code])


# The stamps intake_tables reads: an API intake reads them with the client's key
# (accounts.tokens.api_client_for_key(stamps=...)) and passes them on.
INTAKE_STAMPS = ("catalogue", "calendar")


def intake_tables(code: str, *, stamps=_READ) -> tuple[Category | None, WorkCalendar]:
    """What every intake reads first: the service with this code (as category_for_code)
    and the working-day calendar, both checked with one read of their stamps (INTAKE_STAMPS,
    read here unless given: a tuple, or None when there are none to trust). Pass the
    calendar to case_create."""
    if stamps is _READ:
        stamps = _stamps(*INTAKE_STAMPS)
    catalogue, calendar = stamps or (None,) * len(INTAKE_STAMPS)
    return (
        category_for_code(code, stamp=catalogue),
        _calendar(calendar),
    )


def _start_clock(case: Case, start: dt.datetime, calendar: WorkCalendar) -> None:
    category = case.category
    case.clock_started_at = start
    case.response_deadline = calendar.deadline(
        start, category.response_limit, category.response_unit
    )
    case.response_warn_at = calendar.warn_at(start, case.response_deadline, category.response_unit)
    case.resolution_deadline = calendar.deadline(
        start, category.resolution_limit, category.resolution_unit
    )
    case.resolution_warn_at = calendar.warn_at(
        start, case.resolution_deadline, category.resolution_unit
    )


def _event(case, *, kind, actor, at, from_status="", note="", public=True, department=None) -> None:
    event = build(
        CaseEvent,
        case=case,
        kind=kind,
        at=at,
        actor=actor if getattr(actor, "pk", None) and hasattr(actor, "get_username") else None,
        actor_label=_label(actor)[:150],
        from_status=from_status,
        to_status=case.status,
        department=department or case.department,
        note=(note or "")[:1000],
        public=public,
    )
    # Plain SQL: every step of every case writes one. Not returned: inside a batch its key
    # is only known when the batch is sent (sql.insert_row).
    if not insert_row(event, defer=True):
        event.save(force_insert=True)


def photos_check(photos) -> list:
    photos = [p for p in photos or [] if p]
    if len(photos) > MAX_PHOTOS:
        raise ValidationError(_("At most %(n)s photos.") % {"n": MAX_PHOTOS})
    return [(p, upload_check(p, allowed=IMAGES, max_bytes=conf.PHOTO_MAX_BYTES)) for p in photos]


def _store_photos(case, checked, *, stage, at):
    for upload, info in checked:
        photo = CasePhoto(case=case, stage=stage, content_type=info.content_type, size=info.size)
        photo.uploaded_at = at
        photo.file.save(
            f"{secrets.token_hex(8)}{'.' + info.name.rsplit('.', 1)[-1].lower()}",
            upload,
            save=False,
        )
        photo.save()


def _earlier_submission(api_client, external_id: str) -> Case | None:
    """The case this client already filed under this external id (almost always none).
    The id is looked up in plain SQL on the partial unique index, whose condition is
    repeated word for word as the index states it (`NOT (external_id = '')`): SQLite uses
    a partial index only when the query repeats its condition in the same form (with
    `external_id <> ''` it scanned every case of the client)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Case._meta.db_table} WHERE api_client_id = %s "
            "AND external_id = %s AND NOT (external_id = '') LIMIT 1",
            [api_client.pk, external_id],
        )
        row = cursor.fetchone()
    return None if row is None else Case.objects.get(pk=row[0])


def case_create(
    *,
    category: Category,
    channel: str,
    description: str,
    actor=None,
    address: str = "",
    address_id: str = "",
    zipcode: str = "",
    lat=None,
    long=None,
    media_url: str = "",
    attributes: dict | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    reporter_email: str = "",
    api_client=None,
    external_id: str = "",
    photos=(),
    register: bool = False,
    tracking: bool = False,
    open311_token: bool = False,
    calendar: WorkCalendar | None = None,
) -> Intake:
    """Take in one case from any channel. With an API client and an external id, the same
    submission sent again returns the first case (a retry never duplicates). `calendar`:
    the one intake_tables() gave with the category, else it is read here. An API client
    given from memory (api_client_for_key(cached=True)) is confirmed in the transaction:
    ApiClientChanged when it has changed, with nothing stored."""
    if not category.is_active:
        raise ValidationError(_("This service is not offered any more."))
    if channel not in CHANNELS:
        raise ValidationError(_("Unknown channel %(c)s.") % {"c": channel})
    description = clean_text(description)
    if not description:
        raise ValidationError({"description": _("Describe the problem.")})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(
            {"description": _("At most %(n)s characters.") % {"n": MAX_DESCRIPTION}}
        )
    lat = _coordinate(lat, "lat", 90)
    long = _coordinate(long, "long", 180)
    if (lat is None) != (long is None):
        raise ValidationError(_("Give both latitude and longitude, or neither."))
    address = clean_text(address)
    address_id = clean_text(address_id)
    zipcode = clean_text(zipcode)
    reporter_name = clean_text(reporter_name)
    reporter_phone = clean_text(reporter_phone)
    external_id = clean_text(external_id)
    if not address and lat is None and not address_id:
        raise ValidationError(_("Give the address or the coordinates of the problem."))
    for value, name, limit in (
        (address, "address", 200),
        (address_id, "address_id", 60),
        (zipcode, "zipcode", 12),
        (reporter_name, "name", 60),
        (reporter_phone, "phone", 30),
        (external_id, "external_id", 80),
    ):
        if len(value or "") > limit:
            raise ValidationError({name: _("At most %(n)s characters.") % {"n": limit}})
    reporter_email = clean_text(reporter_email)
    if reporter_email:
        EmailValidator(_("Not an e-mail address."))(reporter_email)
    media_url = clean_text(media_url)
    if media_url:
        if len(media_url) > 500:
            raise ValidationError({"media_url": _("At most 500 characters.")})
        URLValidator(schemes=["http", "https"], message=_("media_url must be an http(s) URL."))(
            media_url
        )
    clean_attributes = attributes_clean(category, attributes or {})
    checked_photos = photos_check(photos)
    # A repeated external id is found by the unique constraint (cases_external_id_unique):
    # the insert fails and the first case is returned below, so that the usual intake,
    # which is no retry, does not look for one.
    retry = api_client is not None and bool(external_id)
    now = clock.now()
    case = build(
        Case,
        category=category,
        channel=channel,
        description=description,
        address=address,
        address_id=address_id,
        zipcode=(zipcode or "").strip(),
        lat=lat,
        long=long,
        media_url=media_url,
        attributes=clean_attributes,
        reporter_name=(reporter_name or "").strip(),
        reporter_phone=(reporter_phone or "").strip(),
        reporter_email=reporter_email,
        api_client=api_client,
        external_id=external_id or "",
        received_at=now,
        updated_at=now,
    )
    token = None
    if tracking:
        token = secrets.token_urlsafe(24)
        case.tracking_hash = tracking_hash(token)
    if open311_token:
        case.open311_token = secrets.token_urlsafe(18)
    if category.clock_start == ClockStart.RECEIPT:
        try:
            _start_clock(case, now, calendar or _calendar())
        except ValidationError:  # a retry after the calendar ran out still finds its case
            existing = _earlier_submission(api_client, external_id) if retry else None
            if existing is not None:
                return Intake(existing, created=False)
            raise
    if register:
        case.status = Status.REGISTERED
        case.registered_at = now
    contribution = rollup.contribution(case)
    # On PostgreSQL the case's key is taken from its sequence first, so that the whole
    # transaction — BEGIN, the case, its event, the counters, the audit entry, COMMIT —
    # goes to the server in one round trip (sql.atomic). On SQLite, writers queue for the
    # write lock on a file lock (sql.writer_queue).
    reserve_key(case)
    try:
        with writer_queue(), sql_atomic():
            if api_client is not None:
                api_client_confirm(api_client)
            case.save()
            _event(case, kind="received", actor=actor or api_client, at=now)
            if register:
                _event(case, kind="register", actor=actor, at=now, from_status=Status.RECEIVED)
            _store_photos(case, checked_photos, stage="intake", at=now)
            rollup.apply(None, contribution)
            audit_record(
                actor=actor or (f"api:{api_client.name}" if api_client else "citizen"),
                action="case.create",
                instance=case,
                after=_audit_snapshot(case),
            )
    except IntegrityError:
        if retry:
            existing = _earlier_submission(api_client, external_id)
            if existing is not None:
                return Intake(existing, created=False)
        raise
    except DatabaseError as exc:
        if api_client_changed(exc):
            raise ApiClientChanged() from None
        raise
    return Intake(case, created=True, tracking_token=token)


# -- the workflow ------------------------------------------------------------------------


def _require_centre(actor) -> None:
    if not getattr(actor, "is_planner", False):
        raise PermissionDenied(_("Only the centre (planners) can do this."))


def _require_handler(actor, case: Case) -> None:
    if not (
        getattr(actor, "role", None) == "reporter"
        and case.department_id is not None
        and actor.department_id == case.department_id
    ):
        raise PermissionDenied(_("Only the handling department can do this."))


def _names(statuses) -> str:
    return "、".join(str(Status(s).label) for s in statuses)


def _check(case: Case, allowed, action: str) -> None:
    if case.status not in allowed:
        raise TransitionRefused(
            _("Cannot %(action)s: the case is %(status)s; it must be %(allowed)s.")
            % {
                "action": action,
                "status": Status(case.status).label,
                "allowed": _names(allowed),
            },
            code="transition",
        )


def _locked(case: Case) -> Case:
    # FOR UPDATE OF the case only: with the join, PostgreSQL would lock the category row too,
    # making every intake of that service (a foreign-key check takes KEY SHARE on it) wait
    # for this transaction, and deadlock with one that holds a roll-up row it needs.
    case = Case.objects.select_for_update(of=("self",)).select_related("category").get(pk=case.pk)
    # What the case adds to the KPI roll-up as stored; `_save` adds the difference.
    case._rollup = rollup.contribution(case)
    return case


def _save(
    case: Case,
    *,
    kind: str,
    actor,
    before: dict,
    note: str = "",
    public=True,
    at=None,
    final: bool = True,
    deferred: list[dict] = (),
):
    """Store a step of a case locked by `_locked`: the row, its event, the change of its
    roll-up contribution and the audit entry. A step followed by another in the same
    transaction passes `final=False` and gets back its audit entry to hand to the last
    step as `deferred`: the audit chain's head is locked last, once, after the roll-up
    rows (one lock order for every writer, so concurrent writers cannot deadlock)."""
    at = at or clock.now()
    case.updated_at = at
    case.save()
    _event(
        case, kind=kind, actor=actor, at=at, from_status=before["status"], note=note, public=public
    )
    entry = {
        "actor": actor,
        "action": f"case.{kind}",
        "instance": case,
        "before": before,
        "after": _audit_snapshot(case),
    }
    if not final:
        return entry
    after = rollup.contribution(case)
    rollup.apply(case._rollup, after)
    case._rollup = after
    for earlier in deferred:
        audit_record(**earlier)
    audit_record(**entry)
    if case.status != before["status"]:
        _tell_followers(case)
    return case


def _reason(text: str, what: str) -> str:
    text = clean_text(text)
    if not text:
        raise ValidationError(_("Give the reason for %(what)s.") % {"what": what})
    if len(text) > 500:
        raise ValidationError(_("At most %(n)s characters.") % {"n": 500})
    return text


def case_register(*, case: Case, actor, category: Category | None = None, note: str = "") -> Case:
    _require_centre(actor)
    with transaction.atomic():
        case = _locked(case)
        _check(case, (Status.RECEIVED,), _("register"))
        before = _audit_snapshot(case)
        now = clock.now()
        if category is not None and category.pk != case.category_id:
            if not category.is_active:
                raise ValidationError(_("This service is not offered any more."))
            case.category = category
            if category.clock_start == ClockStart.RECEIPT:
                _start_clock(case, case.received_at, _calendar())
            else:
                case.clock_started_at = case.response_deadline = case.resolution_deadline = None
                case.response_warn_at = case.resolution_warn_at = None
        case.status = Status.REGISTERED
        case.registered_at = now
        return _save(case, kind="register", actor=actor, before=before, note=note, at=now)


def case_dispatch(*, case: Case, actor, department=None, note: str = "") -> Case:
    """Send the case to a department (its category's default unless another is chosen).
    A case still 'received' is registered on the way."""
    _require_centre(actor)
    with transaction.atomic():
        case = _locked(case)
        _check(case, (Status.RECEIVED, Status.REGISTERED), _("dispatch"))
        now = clock.now()
        deferred = []
        if case.status == Status.RECEIVED:
            before = _audit_snapshot(case)
            case.status = Status.REGISTERED
            case.registered_at = now
            deferred.append(
                _save(case, kind="register", actor=actor, before=before, at=now, final=False)
            )
        before = _audit_snapshot(case)
        department = department or case.category.default_department
        if case.category.clock_start == ClockStart.DISPATCH:
            _start_clock(case, now, _calendar())
        case.department = department
        case.status = Status.DISPATCHED
        case.dispatched_at = now
        case.accepted_at = None
        return _save(
            case,
            kind="dispatch",
            actor=actor,
            before=before,
            note=note,
            at=now,
            deferred=deferred,
        )


def case_accept(*, case: Case, actor) -> Case:
    with transaction.atomic():
        case = _locked(case)
        _require_handler(actor, case)
        _check(case, (Status.DISPATCHED,), _("accept"))
        before = _audit_snapshot(case)
        case.status = Status.ACCEPTED
        case.accepted_at = clock.now()
        return _save(case, kind="accept", actor=actor, before=before, at=case.accepted_at)


def case_respond(*, case: Case, actor, note: str) -> Case:
    """First contact with the citizen (有诉即应)."""
    note = _reason(note, _("the response"))
    with transaction.atomic():
        case = _locked(case)
        _require_handler(actor, case)
        _check(case, (Status.ACCEPTED,), _("record the response"))
        before = _audit_snapshot(case)
        case.status = Status.RESPONDED
        case.responded_at = clock.now()
        return _save(
            case, kind="respond", actor=actor, before=before, note=note, at=case.responded_at
        )


def case_resolve(*, case: Case, actor, result: str, photos=()) -> Case:
    result = clean_text(result)
    if not result:
        raise ValidationError({"result": _("Describe what was done.")})
    if len(result) > MAX_DESCRIPTION:
        raise ValidationError({"result": _("At most %(n)s characters.") % {"n": MAX_DESCRIPTION}})
    checked = photos_check(photos)
    with transaction.atomic():
        case = _locked(case)
        _require_handler(actor, case)
        _check(case, (Status.RESPONDED,), _("resolve"))
        before = _audit_snapshot(case)
        now = clock.now()
        case.status = Status.RESOLVED
        case.resolved_at = now
        case.result = result
        case.status_notes = result[:500]
        case.satisfaction = ""
        case.feedback_solved = None
        case.feedback_at = None
        _store_photos(case, checked, stage="result", at=now)
        return _save(case, kind="resolve", actor=actor, before=before, note=result[:1000], at=now)


def case_verify(*, case: Case, actor, ok: bool = True, note: str = "") -> Case:
    """The centre checks a resolution: verified, or sent back to the department."""
    _require_centre(actor)
    if not ok:
        note = _reason(note, _("sending the case back"))
    with transaction.atomic():
        case = _locked(case)
        _check(case, (Status.RESOLVED,), _("verify"))
        before = _audit_snapshot(case)
        now = clock.now()
        if ok:
            case.status = Status.VERIFIED
            case.verified_at = now
            return _save(case, kind="verify", actor=actor, before=before, note=note, at=now)
        case.status = Status.RESPONDED
        case.resolved_at = None
        return _save(case, kind="send_back", actor=actor, before=before, note=note, at=now)


def case_close(*, case: Case, actor, note: str = "") -> Case:
    _require_centre(actor)
    with transaction.atomic():
        case = _locked(case)
        _check(case, (Status.VERIFIED,), _("close"))
        before = _audit_snapshot(case)
        case.status = Status.CLOSED
        case.closed_at = clock.now()
        return _save(case, kind="close", actor=actor, before=before, note=note, at=case.closed_at)


REQUESTABLE = {
    Pending.RETURN: (Status.DISPATCHED, Status.ACCEPTED),
    Pending.EXTENSION: (Status.ACCEPTED, Status.RESPONDED),
    Pending.SUSPENSION: (Status.ACCEPTED, Status.RESPONDED),
}


def case_request(*, case: Case, actor, kind: str, reason: str, amount: int | None = None) -> Case:
    """The department asks the centre for a return (退单), an extension (延期, `amount` in
    the unit of the resolution limit) or a suspension (挂账)."""
    if kind not in REQUESTABLE:
        raise ValidationError(_("Unknown request %(k)s.") % {"k": kind})
    reason = _reason(reason, Pending(kind).label)
    if kind == Pending.EXTENSION:
        if amount is None or not 1 <= amount <= 365:
            raise ValidationError(_("An extension needs an amount between 1 and 365."))
    else:
        amount = None
    with transaction.atomic():
        case = _locked(case)
        _require_handler(actor, case)
        if case.pending:
            raise TransitionRefused(
                _("A request (%(k)s) is already waiting for the centre.")
                % {"k": Pending(case.pending).label}
            )
        _check(case, REQUESTABLE[kind], _("ask for %(k)s") % {"k": Pending(kind).label})
        before = _audit_snapshot(case)
        case.pending = kind
        case.pending_reason = reason
        case.pending_amount = amount
        case.pending_by = actor
        return _save(
            case, kind=f"request_{kind}", actor=actor, before=before, note=reason, public=False
        )


def case_decide(*, case: Case, actor, approve: bool, note: str = "") -> Case:
    """The centre approves or refuses the department's waiting request."""
    _require_centre(actor)
    with transaction.atomic():
        case = _locked(case)
        if not case.pending:
            raise TransitionRefused(_("No request is waiting on this case."))
        kind = case.pending
        _check(case, REQUESTABLE[kind], _("decide"))
        before = _audit_snapshot(case)
        now = clock.now()
        amount = case.pending_amount
        case.pending = ""
        case.pending_reason = ""
        case.pending_amount = None
        case.pending_by = None
        if not approve:
            note = _reason(note, _("refusing"))
            return _save(
                case,
                kind=f"refuse_{kind}",
                actor=actor,
                before=before,
                note=note,
                public=False,
                at=now,
            )
        if kind == Pending.RETURN:
            case.status = Status.REGISTERED
            case.department = None
            case.accepted_at = None
            case.return_count += 1
            if case.category.clock_start == ClockStart.DISPATCH:
                case.clock_started_at = case.response_deadline = case.resolution_deadline = None
                case.response_warn_at = case.resolution_warn_at = None
        elif kind == Pending.EXTENSION:
            calendar = _calendar()
            unit = case.category.resolution_unit
            case.resolution_deadline = calendar.deadline(case.resolution_deadline, amount, unit)
            case.resolution_warn_at = calendar.warn_at(
                case.clock_started_at, case.resolution_deadline, unit
            )
            case.extension_count += 1
        else:
            case.suspended_from = case.status
            case.suspended_at = now
            case.status = Status.SUSPENDED
        return _save(case, kind=f"approve_{kind}", actor=actor, before=before, note=note, at=now)


def case_resume(*, case: Case, actor, note: str = "") -> Case:
    """End a suspension: the clock picks up where it stopped (deadlines move by the time
    the case was suspended, counted in each limit's unit)."""
    with transaction.atomic():
        case = _locked(case)
        if not getattr(actor, "is_planner", False):
            _require_handler(actor, case)
        _check(case, (Status.SUSPENDED,), _("resume"))
        before = _audit_snapshot(case)
        now = clock.now()
        calendar = _calendar()
        category = case.category
        if case.response_deadline and case.responded_at is None:
            paused = calendar.elapsed(case.suspended_at, now, category.response_unit)
            case.response_deadline = calendar.shift(
                case.response_deadline, paused, category.response_unit
            )
            case.response_warn_at = calendar.shift(
                case.response_warn_at, paused, category.response_unit
            )
        if case.resolution_deadline:
            paused = calendar.elapsed(case.suspended_at, now, category.resolution_unit)
            case.resolution_deadline = calendar.shift(
                case.resolution_deadline, paused, category.resolution_unit
            )
            case.resolution_warn_at = calendar.shift(
                case.resolution_warn_at, paused, category.resolution_unit
            )
        case.status = case.suspended_from
        case.suspended_from = ""
        case.suspended_at = None
        return _save(case, kind="resume", actor=actor, before=before, note=note, at=now)


def case_void(*, case: Case, actor, reason: str, duplicate_of: Case | None = None) -> Case:
    """作废: invalid, or a duplicate of another case. A duplicate is linked to the case that
    goes on (the end of the chain, when that one was merged too): its citizen's tracking page
    shows that case's status from then on, both timelines get a public step, and citizens
    who left an e-mail address hear of it (`_tell_followers`)."""
    _require_centre(actor)
    reason = _reason(reason, _("voiding"))
    with transaction.atomic():
        case = _locked(case)
        _check(case, OPEN_STATUSES, _("void"))
        before = _audit_snapshot(case)
        original = None
        if duplicate_of is not None:
            original = _surviving(duplicate_of)
            if original.pk == case.pk:
                raise ValidationError(_("A case cannot duplicate itself."))
            if original.status == Status.VOID:
                raise ValidationError(
                    _("Case %(ticket)s is void; merge into a case that is being handled.")
                    % {"ticket": original.ticket}
                )
            case.duplicate_of = original
        now = clock.now()
        case.status = Status.VOID
        case.pending = ""
        case.closed_at = now
        case.status_notes = reason
        if original is None:
            return _save(case, kind="void", actor=actor, before=before, note=reason, at=now)
        # Reports merged into this one before follow the surviving case too.
        relinked = list(Case.objects.filter(duplicate_of=case).select_for_update())
        relinks = []  # audited after the roll-up rows are locked (`_save`'s lock order)
        for follower in relinked:
            Case.objects.filter(pk=follower.pk).update(duplicate_of=original)
            relinks.append(
                {
                    "actor": actor,
                    "action": "case.relink",
                    "instance": follower,
                    "before": {"duplicate_of_id": case.pk},
                    "after": {"duplicate_of_id": original.pk},
                }
            )
        # The surviving case's timeline says a later report joined it (its ticket only:
        # nothing of the other citizen).
        _event(original, kind="merged", actor=actor, at=now, note=case.ticket)
        _save(
            case,
            kind="merge",
            actor=actor,
            before=before,
            note=original.ticket,
            at=now,
            deferred=relinks,
        )
        _tell_followers(original, only=[case, *relinked])
        return case


def _surviving(case: Case) -> Case:
    """The case a duplicate was merged into, followed to the end of the chain."""
    seen = set()
    case = Case.objects.get(pk=case.pk)
    while case.duplicate_of_id is not None and case.pk not in seen:
        seen.add(case.pk)
        case = Case.objects.get(pk=case.duplicate_of_id)
    return case


def _tell_followers(original: Case, *, only: list[Case] | None = None) -> None:
    """E-mail the citizens whose reports were merged into `original` (those who left an
    address; `only`: just those) its public status, once the transaction commits. One
    message per citizen, naming their own ticket and the public facts of `original`
    (ticket, status, public note, department): never the other citizen's data."""
    followers = (
        only
        if only is not None
        else Case.objects.filter(duplicate_of=original)
        .exclude(reporter_email="")
        .only("id", "received_at", "reporter_email")
    )
    recipients = [
        (follower.ticket, follower.reporter_email)
        for follower in followers
        if follower.reporter_email
    ]
    if not recipients:
        return
    facts = {
        "ticket": original.ticket,
        "status": original.status,
        "notes": original.status_notes,
        "department": original.department.name if original.department_id else "",
    }
    transaction.on_commit(lambda: _send_follower_mail(recipients, facts))


def _send_follower_mail(recipients: list[tuple[str, str]], facts: dict) -> None:
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        status = Status(facts["status"]).label
        for ticket, address in recipients:
            lines = [
                _(
                    "Your report %(own)s is handled together with case %(ticket)s, "
                    "an earlier report of the same problem."
                )
                % {"own": ticket, "ticket": facts["ticket"]},
                _("Status of case %(ticket)s: %(status)s.")
                % {"ticket": facts["ticket"], "status": status},
            ]
            if facts["department"]:
                lines.append(_("Handled by: %(name)s.") % {"name": facts["department"]})
            if facts["notes"]:
                lines.append(_("Answer: %(notes)s") % {"notes": facts["notes"]})
            lines.append(_("Your tracking link shows the same status."))
            try:
                send_mail(
                    _("Case %(ticket)s: %(status)s") % {"ticket": ticket, "status": status},
                    "\n\n".join(lines),
                    None,
                    [address],
                )
            except Exception:  # the change is committed; a mail server down must not undo it
                logger.exception("follower e-mail for %s failed", ticket)


def case_notice(*, case: Case, actor, note: str) -> Case:
    """A supervision notice (督办) on an open case."""
    _require_centre(actor)
    note = _reason(note, _("the notice"))
    with transaction.atomic():
        case = _locked(case)
        _check(case, OPEN_STATUSES, _("raise a notice"))
        before = _audit_snapshot(case)
        case.notice_count += 1
        return _save(case, kind="notice", actor=actor, before=before, note=note, public=False)


def feedback_open(case: Case) -> bool:
    return (
        case.status in (Status.RESOLVED, Status.VERIFIED, Status.CLOSED)
        and case.resolved_at is not None
        and not case.satisfaction
        and clock.now() <= case.resolved_at + dt.timedelta(days=conf.REOPEN_DAYS)
    )


def case_feedback(
    *, case: Case, satisfaction: str, solved: bool | None = None, comment: str = ""
) -> Case:
    """The citizen's answer after resolution. Satisfied (or basically) verifies a resolved
    case; dissatisfied reopens it to the same department with a fresh resolution limit."""
    if satisfaction not in Satisfaction.values:
        raise ValidationError(_("Choose satisfied, basically satisfied or dissatisfied."))
    comment = clean_text(comment)
    if len(comment) > 500:
        raise ValidationError(_("At most %(n)s characters.") % {"n": 500})
    with transaction.atomic():
        case = _locked(case)
        if not feedback_open(case):
            raise TransitionRefused(
                _(
                    "Feedback is taken once per resolution, within %(n)s days after it; "
                    "this case does not accept feedback now."
                )
                % {"n": conf.REOPEN_DAYS}
            )
        before = _audit_snapshot(case)
        now = clock.now()
        case.satisfaction = satisfaction
        case.feedback_solved = solved
        case.feedback_comment = comment
        case.feedback_at = now
        if satisfaction != Satisfaction.DISSATISFIED:
            if case.status == Status.RESOLVED:
                case.status = Status.VERIFIED
                case.verified_at = now
            return _save(case, kind="feedback", actor=None, before=before, note=comment, at=now)
        feedback = _save(
            case, kind="feedback", actor=None, before=before, note=comment, at=now, final=False
        )
        before = _audit_snapshot(case)
        category = case.category
        calendar = _calendar()
        case.status = Status.DISPATCHED
        case.reopen_count += 1
        case.resolved_at = case.verified_at = case.closed_at = None
        case.accepted_at = None
        case.status_notes = ""
        case.resolution_deadline = calendar.deadline(
            now, category.resolution_limit, category.resolution_unit
        )
        case.resolution_warn_at = calendar.warn_at(
            now, case.resolution_deadline, category.resolution_unit
        )
        return _save(
            case,
            kind="reopen",
            actor=None,
            before=before,
            note=comment,
            at=now,
            deferred=[feedback],
        )


def calendar_load(*, years: list[int] | None = None, actor) -> list[int]:
    """Add the years chinese_calendar knows and the table lacks; keep what is there."""
    with transaction.atomic():
        added = store_rows(
            calendar_rows_from_package(years),
            year_model=WorkdayCalendar,
            day_model=CalendarDay,
            source=WorkdayCalendar.Source.PACKAGE,
        )
        if added:
            audit_record(
                actor=actor,
                action="calendar.load",
                entity="cases.workdaycalendar",
                # The years are in `after`; the id names the span (it must fit 64 characters).
                entity_id=f"{min(added)}-{max(added)}",
                after={"years": added},
            )
    return added


def category_save(*, actor, code: str, attributes: list[dict] | None = None, **fields) -> Category:
    """Create or update a service of the catalogue (and replace its attributes when given)."""
    with transaction.atomic():
        category = Category.objects.filter(code=code).first()
        before = snapshot(category) if category else None
        if category is None:
            category = Category(code=code)
        for name, value in fields.items():
            setattr(category, name, value)
        category.full_clean()
        category.save()
        if attributes is not None:
            category.attributes.all().delete()
            for index, data in enumerate(attributes, start=1):
                attribute = Attribute(category=category, order=data.pop("order", index), **data)
                attribute.full_clean()
                attribute.save()
        audit_record(
            actor=actor,
            action="category.update" if before else "category.create",
            instance=category,
            before=before,
            after=snapshot(category),
        )
    return category
