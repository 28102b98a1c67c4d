from django.apps import AppConfig


class CustomFormsConfig(AppConfig):
    name = "customforms"
    verbose_name = "カスタムフォーム"

    def ready(self) -> None:

        from candidates import extensions
        from candidates.signals import demo_seeded
        from customforms import confirmation, demo, links
        from customforms.public_views import redact_form_tokens
        from customforms.response_views import TAB_KEY
        from hrmos import navigation
        from messaging import kinds, placeholders
        from messaging.sending import automatic

        navigation.register(
            navigation.NavItem("カスタムフォーム", "customforms:list", "ui-checks", order=60, active_prefix="/forms/")
        )
        extensions.register_detail_tab(
            extensions.DetailTab(
                key=TAB_KEY, label="フォーム回答", url_name="customforms:candidate_tab", order=50, icon="ui-checks"
            )
        )
        for placeholder in (*links.PLACEHOLDERS, *confirmation.PLACEHOLDERS):
            placeholders.register(placeholder)
        kinds.register(links.REQUEST_KIND)
        automatic.register(confirmation.AUTOMATIC_KIND)
        query = f"kind={links.REQUEST_KIND.kind}"
        extensions.register_bulk_action(
            extensions.BulkAction("フォームを送信", "messaging:compose_bulk", icon="ui-checks", order=40, query=query)
        )
        extensions.register_detail_action(
            extensions.DetailAction("フォームを送信", "messaging:compose", icon="ui-checks", order=40, query=query)
        )
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="customforms.demo")
        redact_form_tokens.install()
