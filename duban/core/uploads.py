"""Checking uploaded files: by content (magic bytes), not by the name or the type the
browser claims, and by size. Every upload in Duban goes through `upload_check`."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# kind -> (content type, extensions, magic prefixes)
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[bytes, ...]]] = {
    "jpeg": ("image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
    "png": ("image/png", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    "gif": ("image/gif", (".gif",), (b"GIF87a", b"GIF89a")),
    "webp": ("image/webp", (".webp",), (b"RIFF",)),
    "pdf": ("application/pdf", (".pdf",), (b"%PDF-",)),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
        (b"PK\x03\x04",),
    ),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
        (b"PK\x03\x04",),
    ),
}
IMAGES = ("jpeg", "png", "gif", "webp")
EVIDENCE = (*IMAGES, "pdf", "xlsx", "docx")


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    content_type: str
    size: int
    name: str


def upload_check(
    upload, *, allowed: tuple[str, ...], max_bytes: int | None = None
) -> CheckedUpload:
    """Raise ValidationError unless the file is one of the allowed kinds and small enough."""
    limit = max_bytes or settings.UPLOAD_MAX_BYTES
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    size = getattr(upload, "size", None)
    if size is None or size == 0:
        raise ValidationError(_("The file %(name)s is empty.") % {"name": name})
    if size > limit:
        raise ValidationError(
            _("The file %(name)s is too large (%(size)s bytes; at most %(max)s).")
            % {"name": name, "size": size, "max": limit}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    lowered = name.lower()
    for kind in allowed:
        content_type, extensions, magics = KINDS[kind]
        if lowered.endswith(extensions) and any(head.startswith(m) for m in magics):
            if kind == "webp" and head[8:12] != b"WEBP":
                continue
            return CheckedUpload(kind, content_type, size, name)
    names = ", ".join(ext for kind in allowed for ext in KINDS[kind][1])
    raise ValidationError(
        _("The file %(name)s is not an accepted type (%(types)s).") % {"name": name, "types": names}
    )


def stored_file_response(stored, content_type: str, *, download_name: str | None = None):
    """Serve a file an upload was stored as: with the type checked at upload, never
    sniffed by the browser, inline or (given a name) as a download; 404 if it is gone."""
    from django.http import FileResponse, Http404

    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing.")) from None
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=download_name is not None,
        filename=download_name or "",
    )
    response["X-Content-Type-Options"] = "nosniff"
    if download_name is None:
        response["Content-Disposition"] = "inline"
    return response
