from django.apps import AppConfig


class LineEmulatorConfig(AppConfig):
    name = "line_emulator"
    verbose_name = "LINE platform emulator"
    default_auto_field = "django.db.models.BigAutoField"
