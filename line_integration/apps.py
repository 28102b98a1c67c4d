from django.apps import AppConfig


class LineIntegrationConfig(AppConfig):
    name = "line_integration"
    verbose_name = "LINE連携"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads AppConfigs before models are ready.
        from hrmos import navigation
        from line_integration.processing import tasks  # noqa: F401  (registers the Celery tasks)

        navigation.register(
            navigation.NavItem("LINE設定", "line:settings", "line", order=80, active_prefix="/settings/line/")
        )
        _register_candidate_screens()
        _keep_invitation_tokens_out_of_logs()


def _keep_invitation_tokens_out_of_logs() -> None:
    from line_integration.friends.views import redact_invitation_tokens

    redact_invitation_tokens.install()


def _register_candidate_screens() -> None:
    """LINE status on the candidate list and detail page (friend registration)."""
    from candidates import extensions
    from line_integration.friends import candidate_screens

    extensions.register_list_filter(
        extensions.ListFilter(
            key=candidate_screens.FILTER_KEY,
            label="LINE",
            choices=candidate_screens.status_choices,
            apply=candidate_screens.filter_by_status,
            order=50,
        )
    )
    extensions.register_queryset_hook(candidate_screens.with_line_account)
    extensions.register_row_badge("line_integration/candidate/_row_badge.html")
    extensions.register_detail_badge("line_integration/candidate/_detail_badge.html")
    extensions.register_detail_tab(
        extensions.DetailTab(
            key=candidate_screens.TAB_KEY,
            label="LINE友達登録",
            url_name="line:candidate_friend",
            order=40,
            icon="person-check",
        )
    )
