import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.utils.module_loading import import_string

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrmos.settings")
django_application = get_wsgi_application()

# settings.WSGI_WRAPPERS: e.g. LINE webhook POSTs answered before Django's handler.
application = django_application
for wrapper in settings.WSGI_WRAPPERS:
    application = import_string(wrapper)(application)
