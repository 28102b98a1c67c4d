from django.urls import path

from candidates import csv_views, views

app_name = "candidates"

# Object ids in paths are named for their model (candidate_pk, agent_pk, batch_id) so the
# tenancy sweep (tests/test_tenancy_sweep.py) knows which foreign object to try.
urlpatterns = [
    path("", views.candidate_list, name="list"),
    path("new/", views.candidate_create, name="create"),
    path("<int:candidate_pk>/", views.candidate_detail, name="detail"),
    path("<int:candidate_pk>/edit/", views.candidate_edit, name="edit"),
    path("<int:candidate_pk>/delete/", views.candidate_delete, name="delete"),
    path("bulk/stage/", views.bulk_change_stage, name="bulk_stage"),
    path("export/", csv_views.export, name="export"),
    path("import/", csv_views.import_upload, name="import"),
    path("import/template.csv", csv_views.import_template, name="import_template"),
    path("import/<uuid:batch_id>/", csv_views.import_preview, name="import_preview"),
    path("import/<uuid:batch_id>/confirm/", csv_views.import_confirm, name="import_confirm"),
    path("import/<uuid:batch_id>/cancel/", csv_views.import_cancel, name="import_cancel"),
    path("agents/", views.agent_list, name="agent_list"),
    path("agents/new/", views.agent_create, name="agent_create"),
    path("agents/<int:agent_pk>/edit/", views.agent_edit, name="agent_edit"),
    path("agents/<int:agent_pk>/delete/", views.agent_delete, name="agent_delete"),
]
