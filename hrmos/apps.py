from django.apps import AppConfig


class HrmosConfig(AppConfig):
    name = "hrmos"
    verbose_name = "企業・採用担当者"
