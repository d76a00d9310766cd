"""Settings for the test suite: Duban's own settings, with what a test run needs set
(a secret key) and what makes it slow turned down (password hashing)."""

import os

os.environ.setdefault(
    "DUBAN_SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("DUBAN_SECURE_COOKIES", "false")
os.environ.setdefault("DUBAN_SSL_REDIRECT", "false")

from duban.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
