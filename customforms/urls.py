from django.urls import path

from customforms import builder_views, response_views

app_name = "customforms"

# Object ids in paths are named for their model (form_pk, form_field_pk, form_answer_pk,
# candidate_pk) so the tenancy sweep (tests/test_tenancy_sweep.py) knows which object to try.
urlpatterns = [
    path("", builder_views.form_list, name="list"),
    path("new/", builder_views.form_create, name="create"),
    path("<int:form_pk>/", builder_views.form_detail, name="detail"),
    path("<int:form_pk>/edit/", builder_views.form_edit, name="edit"),
    path("<int:form_pk>/publish/", builder_views.form_publish, name="publish"),
    path("<int:form_pk>/copy/", builder_views.form_copy, name="copy"),
    path("<int:form_pk>/delete/", builder_views.form_delete, name="delete"),
    path("<int:form_pk>/restore/", builder_views.form_restore, name="restore"),
    path("<int:form_pk>/preview/", builder_views.form_preview, name="preview"),
    path("<int:form_pk>/send/", builder_views.form_send, name="send"),
    path("<int:form_pk>/fields/new/", builder_views.field_create, name="field_create"),
    path("<int:form_pk>/fields/<int:form_field_pk>/edit/", builder_views.field_edit, name="field_edit"),
    path("<int:form_pk>/fields/<int:form_field_pk>/delete/", builder_views.field_delete, name="field_delete"),
    path("<int:form_pk>/fields/<int:form_field_pk>/move/", builder_views.field_move, name="field_move"),
    path("<int:form_pk>/answers/", response_views.response_table, name="responses"),
    path("<int:form_pk>/answers/export/", response_views.response_export, name="responses_export"),
    path("files/<int:form_answer_pk>/", response_views.answer_file, name="answer_file"),
    path("candidates/<int:candidate_pk>/", response_views.candidate_tab, name="candidate_tab"),
]
