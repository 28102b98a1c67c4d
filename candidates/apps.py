from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class CandidatesConfig(AppConfig):
    name = "candidates"
    verbose_name = "候補者管理"

    def ready(self) -> None:
        from candidates import extensions
        from candidates.models import ensure_default_stages
        from hrmos import navigation
        from hrmos.models import Company

        def give_default_stages(
            sender: type[Company], instance: Company, created: bool, raw: bool = False, **kwargs: Any
        ) -> None:
            if created and not raw:
                ensure_default_stages(instance)

        # weak=False: the receiver is a local function, which a weak reference would let go.
        post_save.connect(give_default_stages, sender=Company, weak=False, dispatch_uid="candidates.default_stages")
        navigation.register(
            navigation.NavItem("候補者管理", "candidates:list", "people", order=10, active_prefix="/candidates/")
        )
        # Our own bulk action goes through the same registry as the floors above.
        extensions.register_bulk_action(
            extensions.BulkAction(label="CSVエクスポート", url_name="candidates:export", icon="download", order=90)
        )
