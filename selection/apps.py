from django.apps import AppConfig


class SelectionConfig(AppConfig):
    name = "selection"
    verbose_name = "選考・面接"

    def ready(self) -> None:

        from candidates import extensions
        from candidates.signals import demo_seeded
        from hrmos import navigation
        from messaging import kinds, placeholders
        from messaging.sending import automatic
        from selection import demo, links, notices
        from selection.public_views import redact_scheduling_tokens
        from selection.views import TAB_KEY

        navigation.register(
            navigation.NavItem("面接", "selection:interviews", "calendar-check", order=55, active_prefix="/selection/")
        )
        extensions.register_detail_tab(
            extensions.DetailTab(
                key=TAB_KEY, label="選考", url_name="selection:candidate_tab", order=45, icon="calendar-check"
            )
        )
        for placeholder in (*links.PLACEHOLDERS, *notices.PLACEHOLDERS):
            placeholders.register(placeholder)
        kinds.register(links.REQUEST_KIND)
        automatic.register(notices.CONFIRMATION_KIND)
        automatic.register(notices.REMINDER_KIND)
        automatic.register(notices.ANSWER_REMINDER_KIND)
        query = f"kind={links.REQUEST_KIND.kind}"
        extensions.register_bulk_action(
            extensions.BulkAction(
                "日程調整を依頼", "messaging:compose_bulk", icon="calendar-plus", order=45, query=query
            )
        )
        extensions.register_detail_action(
            extensions.DetailAction("日程調整を依頼", "messaging:compose", icon="calendar-plus", order=45, query=query)
        )
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="selection.demo")
        redact_scheduling_tokens.install()
