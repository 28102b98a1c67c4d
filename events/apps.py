from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "イベント"

    def ready(self) -> None:

        from candidates import extensions
        from candidates.signals import demo_seeded
        from events import candidate_filters, demo, links, notices
        from events.public_views import redact_event_tokens
        from events.views import TAB_KEY
        from hrmos import navigation
        from messaging import kinds, placeholders
        from messaging.sending import automatic

        navigation.register(
            navigation.NavItem("イベント管理", "events:list", "calendar-event", order=55, active_prefix="/events/")
        )
        extensions.register_detail_tab(
            extensions.DetailTab(
                key=TAB_KEY, label="イベント", url_name="events:candidate_tab", order=45, icon="calendar-event"
            )
        )
        for list_filter in candidate_filters.FILTERS:
            extensions.register_list_filter(list_filter)
        for placeholder in (*links.PLACEHOLDERS, *notices.PLACEHOLDERS):
            placeholders.register(placeholder)
        kinds.register(notices.INVITATION_KIND)
        kinds.register(notices.MESSAGE_KIND)
        automatic.register(notices.CONFIRMATION_KIND)
        automatic.register(notices.REMINDER_KIND)
        query = f"kind={notices.INVITATION_KIND.kind}"
        extensions.register_bulk_action(
            extensions.BulkAction(
                "イベント案内", "messaging:compose_bulk", icon="calendar-event", order=35, query=query
            )
        )
        extensions.register_detail_action(
            extensions.DetailAction("イベント案内", "messaging:compose", icon="calendar-event", order=35, query=query)
        )
        extensions.register_detail_action(
            extensions.DetailAction("イベント代行予約", "events:candidate_book", icon="calendar-plus", order=36)
        )
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="events.demo")
        redact_event_tokens.install()
