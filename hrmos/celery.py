"""The Celery app. Tasks are DjangoTasks so views can call `.delay_on_commit()`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrmos.settings")

app = Celery("hrmos", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
