from django.apps import AppConfig


class HrmosConfig(AppConfig):
    name = "hrmos"
    verbose_name = "企業・採用担当者"

    def ready(self) -> None:
        from hrmos import checks  # noqa: F401  (registers the FIELD_ENCRYPTION_KEYS check)
