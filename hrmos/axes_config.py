"""django-axes under a Japanese name in the operators' admin (its labels: hrmos/locale/ja)."""

from axes.apps import AppConfig as AxesAppConfig


class LoginThrottleConfig(AxesAppConfig):
    verbose_name = "ログイン制限"
