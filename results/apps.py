from django.apps import AppConfig


class ResultsConfig(AppConfig):
    name = "results"
    verbose_name = "選考結果"

    def ready(self) -> None:
        from candidates import extensions
        from candidates.signals import demo_seeded
        from messaging import placeholders
        from messaging.sending import automatic
        from results import demo, listing, notices
        from results.views import TAB_KEY

        extensions.register_detail_tab(
            extensions.DetailTab(
                key=TAB_KEY, label="選考結果", url_name="results:candidate_tab", order=45, icon="clipboard-check"
            )
        )
        extensions.register_bulk_action(
            extensions.BulkAction("選考結果を登録", "results:bulk", icon="clipboard-check", order=35)
        )
        extensions.register_stage_action(
            extensions.StageAction(
                "結果を登録", "results:candidate_tab", icon="clipboard-check", fragment="record-result"
            )
        )
        extensions.register_list_filter(
            extensions.ListFilter(
                key=listing.KEY, label="選考結果", choices=listing.choices, apply=listing.apply, order=30
            )
        )
        for placeholder in notices.PLACEHOLDERS:
            placeholders.register(placeholder)
        automatic.register(notices.AUTOMATIC_KIND)
        demo_seeded.connect(demo.on_demo_seeded, dispatch_uid="results.demo")
