"""Send history (送信履歴), scheduled sends (送信予約), a send's progress and recipients,
editing and cancelling scheduled sends, attachment downloads."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hrmos.http import RecruiterRequest
from hrmos.tenancy import get_scoped_or_404, scoped
from messaging.history.progress import progress
from messaging.models import Channel, Delivery, Message, MessageAttachment, Send, SendAttachment
from messaging.sending import compose, forms, scheduling

STATUS_FILTERS = [
    ("", "すべて"),
    (Delivery.Status.SENT, "送信済み"),
    (Delivery.Status.FAILED, "失敗"),
    (Delivery.Status.SKIPPED, "送信しない"),
    (Delivery.Status.QUEUED, "送信待ち"),
]


@require_GET
def send_list(request: HttpRequest) -> HttpResponse:
    tab = "scheduled" if request.GET.get("tab") == "scheduled" else "all"
    sends = scoped(request, Send).select_related("created_by")
    if tab == "scheduled":
        sends = sends.filter(status=Send.Status.SCHEDULED).order_by("scheduled_at", "pk")
    page = Paginator(sends, 30).get_page(request.GET.get("page"))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        Delivery.objects.filter(send__in=[s.pk for s in page]).values("send_id", "status").annotate(n=Count("id"))
    ):
        counts[row["send_id"]][row["status"]] = row["n"]
    # A send to one person (every automatic one) is listed as that person read it, not as its
    # template with {{…}} still in it.
    single = [s.pk for s in page if s.recipient_count == 1]
    subjects = dict(Message.objects.filter(send__in=single).values_list("send_id", "subject"))
    scheduled_count = scoped(request, Send).filter(status=Send.Status.SCHEDULED).count()
    return render(
        request,
        "messaging/send_list.html",
        {
            "page": page,
            "tab": tab,
            "scheduled_count": scheduled_count,
            "counts": dict(counts),
            "subjects": subjects,
        },
    )


def _recipient_rows(send: Send, status: str, page_number: str | None) -> tuple:
    """One row per recipient (not per delivery), each with its deliveries by channel."""
    primary = Channel.EMAIL if send.deliveries.filter(channel=Channel.EMAIL).exists() else Channel.LINE
    heads = Delivery.objects.filter(send=send, channel=primary).order_by("recipient_index")
    if status:
        heads = heads.filter(
            recipient_index__in=Delivery.objects.filter(send=send, status=status).values("recipient_index")
        )
    page = Paginator(heads.only("recipient_index"), 50).get_page(page_number)
    indexes = [d.recipient_index for d in page]
    by_index: dict[int, dict[str, Delivery]] = defaultdict(dict)
    deliveries = Delivery.objects.filter(send=send, recipient_index__in=indexes).select_related("candidate")
    for delivery in deliveries.prefetch_related("attempt_log"):  # each try, for 「試行履歴」
        by_index[delivery.recipient_index][delivery.channel] = delivery
    rows = []
    for index in indexes:
        channels = by_index[index]
        first = channels.get(primary) or next(iter(channels.values()))
        rows.append(
            {
                "name": first.recipient_name,
                "candidate": first.candidate,
                "address": channels[Channel.EMAIL].address if Channel.EMAIL in channels else "",
                "recipient_kind": first.get_recipient_kind_display(),
                "email": channels.get(Channel.EMAIL),
                "line": channels.get(Channel.LINE),
            }
        )
    return page, rows


@require_GET
def send_detail(request: HttpRequest, send_pk: int) -> HttpResponse:
    send = get_scoped_or_404(request, Send.objects.select_related("created_by", "in_reply_to"), pk=send_pk)
    status = request.GET.get("status", "")
    status = status if status in dict(STATUS_FILTERS) else ""
    page, rows = _recipient_rows(send, status, request.GET.get("page"))
    return render(
        request,
        "messaging/send_detail.html",
        {
            "send": send,
            "progress": progress(send),
            "page": page,
            "rows": rows,
            "status": status,
            "status_filters": STATUS_FILTERS,
            "attachments": list(send.attachments.all()),
        },
    )


@require_GET
def send_progress(request: HttpRequest, send_pk: int) -> HttpResponse:
    """htmx fragment polled every 2 s until the send is done."""
    send = get_scoped_or_404(request, Send, pk=send_pk)
    return render(request, "messaging/_progress.html", {"send": send, "progress": progress(send)})


@require_http_methods(["GET", "POST"])
def send_edit(request: RecruiterRequest, send_pk: int) -> HttpResponse:
    send = get_scoped_or_404(request, Send, pk=send_pk)
    if send.status != Send.Status.SCHEDULED:
        flash.warning(request, "この送信はすでに送信が始まっているか、キャンセルされているため変更できません。")
        return redirect("messaging:send_detail", send_pk=send.pk)
    form_kwargs: forms.ComposeOptions = {
        "kind": send.kind,
        "company": send.company,
        "recipient_count": send.recipient_count,
        "allow_attachments": False,
        "line_only": not send.deliveries.filter(channel=Channel.EMAIL).exists(),
        "scheduled_only": True,
        "sender_department": send.sender_department,
        # Recipients, channels and what the send is about are not editable; the content is
        # judged with the send's own (e.g. an automatic result notice's {{選考結果}}).
        "fixed": {
            "context": dict(send.context),
            "send_line": send.send_line,
            "recipient_type": send.recipient_type,
            "include_friend_invitation": send.include_friend_invitation,
        },
    }
    if request.method == "POST":
        form = forms.ComposeForm(request.POST, **form_kwargs)
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = -1
        if form.is_valid():
            draft = form.draft()
            try:
                changed = scheduling.edit_scheduled_send(send, draft, version=version, user=request.user)
            except compose.ComposeError as exc:
                forms.add_errors(form, exc.errors)
            else:
                if changed:
                    flash.success(request, "送信予約を変更しました。")
                else:
                    flash.error(
                        request,
                        "送信予約を変更できませんでした。すでに送信が始まったか、ほかの担当者が先に変更しています。",
                    )
                return redirect("messaging:send_detail", send_pk=send.pk)
    else:
        local = timezone.localtime(send.scheduled_at)
        form = forms.ComposeForm(
            initial={"subject": send.subject, "body": send.body, "scheduled_at": local.strftime("%Y-%m-%dT%H:%M")},
            **form_kwargs,
        )
    return render(request, "messaging/send_edit.html", {"send": send, "form": form})


@require_POST
def send_cancel(request: RecruiterRequest, send_pk: int) -> HttpResponse:
    send = get_scoped_or_404(request, Send, pk=send_pk)
    if scheduling.cancel_scheduled_send(send, user=request.user):
        flash.success(request, "送信予約をキャンセルしました。このメッセージは送信されません。")
    else:
        flash.error(request, "キャンセルできませんでした。すでに送信が始まっています。")
    return redirect("messaging:send_detail", send_pk=send.pk)


@require_POST
def send_now(request: RecruiterRequest, send_pk: int) -> HttpResponse:
    send = get_scoped_or_404(request, Send, pk=send_pk)
    if scheduling.send_scheduled_now(send, user=request.user):
        flash.success(request, "送信予約を今すぐ送信しました。")
    else:
        flash.error(request, "今すぐ送信できませんでした。すでに送信が始まっているか、キャンセルされています。")
    return redirect("messaging:send_detail", send_pk=send.pk)


def _download(attachment: SendAttachment | MessageAttachment) -> FileResponse:
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type or "application/octet-stream",
    )


@require_GET
def attachment_download(request: HttpRequest, attachment_pk: int) -> FileResponse:
    return _download(get_scoped_or_404(request, SendAttachment, pk=attachment_pk))


@require_GET
def message_attachment_download(request: HttpRequest, message_attachment_pk: int) -> FileResponse:
    # Content the candidate unsent is gone (inbound.mark_line_unsent); never serve a leftover.
    return _download(
        get_scoped_or_404(request, MessageAttachment, pk=message_attachment_pk, message__unsent_at__isnull=True)
    )
