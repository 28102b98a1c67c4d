from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "メッセージ"

    def ready(self) -> None:
        # Imported here, not at the top: Django loads AppConfigs before models are ready.
        from candidates import extensions
        from candidates.signals import demo_seeded
        from hrmos import navigation
        from messaging import placeholders
        from messaging.message_templates import demo
        from messaging.outbox import tasks as outbox_tasks  # noqa: F401  (registers the Celery tasks)
        from messaging.receiving import (
            inbox,
            receivers,  # noqa: F401  (connects LINE's signals to the timeline)
        )
        from messaging.sending import tasks as sending_tasks  # noqa: F401  (registers the Celery tasks)

        placeholders.register(placeholders.STAGE)  # before the apps above add their sources to it
        demo_seeded.connect(demo.seed_demo_templates, dispatch_uid="messaging.seed_demo_templates")
        navigation.register(
            navigation.NavItem(
                "テンプレート",
                "messaging:template_list",
                "file-earmark-text",
                order=35,
                active_prefix="/messages/templates/",
            )
        )
        navigation.register(
            navigation.NavItem("送信履歴", "messaging:send_list", "send", order=30, active_prefix="/messages/sends/")
        )
        navigation.register(
            navigation.NavItem(
                "受信箱",
                "messaging:inbox",
                "inbox",
                order=25,
                badge=inbox.nav_badge,
                badge_url_name="messaging:inbox_badge",
                active_prefix="/messages/inbox/",
            )
        )
        extensions.register_bulk_action(
            extensions.BulkAction(
                label="メッセージを送信", url_name="messaging:compose_bulk", icon="envelope", order=10
            )
        )
        extensions.register_detail_action(
            extensions.DetailAction(
                label="メッセージを送信", url_name="messaging:compose", icon="envelope", order=10, style="primary"
            )
        )
        extensions.register_detail_tab(
            extensions.DetailTab(
                key="timeline", label="タイムライン", url_name="messaging:timeline", order=20, icon="clock-history"
            )
        )
        extensions.register_detail_tab(
            extensions.DetailTab(
                key="line", label="LINEメッセージ", url_name="messaging:line_chat", order=30, icon="line"
            )
        )
