import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
application = get_wsgi_application()

from duban.core.intake_lane import IntakeLane  # noqa: E402 (needs the settings)

application = IntakeLane(application)

# Import the URLconf, and with it every view and the API, as the worker starts rather than
# on its first request; then take all that was loaded out of the cyclic garbage
# collector's sight. Those ~90,000 objects live as long as the worker, yet each full
# collection walked them all again: a 40-80 ms stall of the request in hand every few
# thousand requests (measured in-process on case intake), for nothing. Objects made
# later are collected as before.
get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
gc.collect()
gc.freeze()
