from django.urls import path

from messaging.history import views as send_views
from messaging.message_templates import automatic_views
from messaging.message_templates import views as template_views
from messaging.receiving import inbound_email
from messaging.receiving import views as inbox_views
from messaging.sending import friend_invitation as friend_invitation_views
from messaging.sending import views
from messaging.timeline import views as timeline

app_name = "messaging"

# Object ids in paths are named for their model (send_pk, message_pk, candidate_pk,
# attachment_pk, message_attachment_pk, message_template_pk) so the tenancy sweep knows which object to try.
urlpatterns = [
    path("compose/", views.compose_bulk, name="compose_bulk"),
    path("compose/candidate/<int:candidate_pk>/", views.compose_candidate, name="compose"),
    path("compose/reply/<int:message_pk>/", views.reply, name="reply"),
    path("compose/preview/", views.compose_preview, name="compose_preview"),
    path("compose/quota/", views.quota_guard, name="quota_guard"),
    path("sends/", send_views.send_list, name="send_list"),
    path("sends/<int:send_pk>/", send_views.send_detail, name="send_detail"),
    path("sends/<int:send_pk>/progress/", send_views.send_progress, name="send_progress"),
    path("sends/<int:send_pk>/edit/", send_views.send_edit, name="send_edit"),
    path("sends/<int:send_pk>/cancel/", send_views.send_cancel, name="send_cancel"),
    path("sends/<int:send_pk>/send-now/", send_views.send_now, name="send_now"),
    path("attachments/<int:attachment_pk>/", send_views.attachment_download, name="attachment"),
    path(
        "received-attachments/<int:message_attachment_pk>/",
        send_views.message_attachment_download,
        name="message_attachment",
    ),
    path("candidates/<int:candidate_pk>/timeline/", timeline.timeline, name="timeline"),
    path("candidates/<int:candidate_pk>/line/", timeline.line_chat, name="line_chat"),
    # What an open tab polls: 204 while nothing changed (messaging/live.py).
    path("candidates/<int:candidate_pk>/timeline/live/", timeline.timeline_live, name="timeline_live"),
    path("candidates/<int:candidate_pk>/line/live/", timeline.line_chat_live, name="line_chat_live"),
    path(
        "candidates/<int:candidate_pk>/friend-invitation/",
        friend_invitation_views.resend,
        name="friend_invitation_resend",
    ),
    # Receiving: the inbox, received images in place, inbound email (public, secret header).
    path("inbox/", inbox_views.inbox_page, name="inbox"),
    path("inbox/badge/", inbox_views.nav_badge, name="inbox_badge"),
    path("inbox/live/", inbox_views.inbox_live, name="inbox_live"),
    path("inbox/<int:candidate_pk>/handled/", inbox_views.mark_handled, name="inbox_handled"),
    path("inbox/<int:candidate_pk>/reopen/", inbox_views.reopen, name="inbox_reopen"),
    path(
        "received-attachments/<int:message_attachment_pk>/view/",
        inbox_views.attachment_inline,
        name="message_attachment_inline",
    ),
    path("inbound-email/", inbound_email.inbound_email, name="inbound_email"),
    # メッセージテンプレート and 自動送信メール設定.
    path("templates/", template_views.template_list, name="template_list"),
    path("templates/new/", template_views.template_create, name="template_create"),
    path("templates/preview/", template_views.template_preview, name="template_preview"),
    path("templates/<int:message_template_pk>/edit/", template_views.template_edit, name="template_edit"),
    path("templates/<int:message_template_pk>/copy/", template_views.template_copy, name="template_copy"),
    path("templates/<int:message_template_pk>/delete/", template_views.template_delete, name="template_delete"),
    path("templates/<int:message_template_pk>/content/", template_views.template_content, name="template_content"),
    path("templates/automatic/", automatic_views.automatic_settings, name="automatic_settings"),
    path("templates/automatic/preview/", automatic_views.automatic_preview, name="automatic_preview"),
]
