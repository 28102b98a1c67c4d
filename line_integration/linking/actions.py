"""State changes of a company's LINE link: link (連携を開始), unlink (解除), set up the webhook.

Each action verifies with LINE first, outside any transaction (no row locks held across
HTTP), then writes in one transaction and records an audit entry. Nothing is saved as 連携中
unless LINE accepted both channels. Secrets never reach the audit log or the logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from hrmos.audit import log_action
from hrmos.models import Company, User
from line_integration.api import client, tokens
from line_integration.api.client import LineError, LineErrorKind
from line_integration.models import WEBHOOK_TEST_REASONS, LineAccount, LineIntegration, webhook_url

logger = logging.getLogger(__name__)

LINK_FAILED = "連携を開始できませんでした。入力内容をご確認ください"
LINE_UNREACHABLE = "LINEに接続できませんでした。時間をおいて再度お試しください。"
SWAPPED = "Messaging APIとLINEログインのチャネルが逆に設定されている可能性があります。"

Problem = Literal[
    "messaging_invalid",  # the Messaging API id/secret were refused
    "login_invalid",  # the LINE Login id/secret were refused
    "both_invalid",
    "swapped",  # the Login pair is a Messaging API channel and/or the Messaging pair is a Login channel
    "unreachable",  # LINE did not answer, answered 5xx or 429
    "channel_in_use",  # another company already links this Official Account
    "has_line_friends",  # the channels would change while candidates are registered LINE friends
]


@dataclass(frozen=True)
class ChannelCredentials:
    """What the recruiter pastes: two channel id + secret pairs (secrets hidden from repr)."""

    messaging_channel_id: str
    messaging_channel_secret: str = field(repr=False)
    login_channel_id: str
    login_channel_secret: str = field(repr=False)


class LinkError(Exception):
    """連携を開始 refused. `message` is the headline, `detail` says which half and what to do."""

    def __init__(self, problem: Problem, message: str, detail: str = "", fields: tuple[str, ...] = ()) -> None:
        self.problem = problem
        self.message = message
        self.detail = detail
        self.fields = fields  # form fields to mark invalid
        super().__init__(f"{message} {detail}".strip())


class UnlinkRefused(Exception):
    def __init__(self, friend_count: int) -> None:
        self.friend_count = friend_count
        self.message = unlink_refused_message(friend_count)
        super().__init__(self.message)


class WebhookSetupError(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def unlink_refused_message(friend_count: int) -> str:
    return (
        f"LINE友達登録済みの候補者が{friend_count}名いるため、連携を解除できません。"
        "友達登録済みの候補者を削除すると、解除・再連携ができるようになります。"
        "候補者を削除できない場合や、削除しても解除できない場合はお問い合わせください。"
    )


def line_friend_count(company: Company) -> int:
    """Candidates tied to a LINE user (friend, blocked or not yet friend): the unlink rule counts them all,
    because a recruiter cannot unregister any of them."""
    return LineAccount.objects.filter(company=company).count()


# --- verification -------------------------------------------------------------------------

ChannelKind = Literal["messaging", "login", "invalid"]


@dataclass(frozen=True)
class _Probe:
    kind: ChannelKind
    bot: client.BotInfo | None = None
    token: client.IssuedToken | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Verified:
    """Both channels checked: the Official Account, and the stateless token used to read it
    (valid for 15 minutes, so it becomes the cached channel token instead of minting another)."""

    bot: client.BotInfo
    token: client.IssuedToken = field(repr=False)


def _is_refusal(exc: LineError) -> bool:
    """LINE answered and said no (as opposed to: could not be asked)."""
    return exc.permanent and exc.kind != LineErrorKind.QUOTA_EXHAUSTED


@sensitive_variables()
def _probe_messaging_pair(channel_id: str, secret: str) -> _Probe:
    """Mint a stateless token and read bot info: proves a Messaging API channel.

    Transient LINE errors propagate (→ 接続できませんでした)."""
    try:
        issued = client.issue_stateless_token(channel_id, secret)
    except LineError as exc:
        if exc.kind != LineErrorKind.INVALID_CREDENTIALS:
            raise
        # LINE may refuse stateless tokens to a Login channel: it is still a valid pair if a
        # short-lived token works, and that is the swapped case, not a typo.
        return _Probe("login") if _short_lived_pair_is_valid(channel_id, secret) else _Probe("invalid")
    try:
        return _Probe("messaging", client.get_bot_info(issued.access_token), issued)
    except LineError as exc:
        if not _is_refusal(exc):
            raise
        return _Probe("login")  # a token, but no bot behind it: a LINE Login channel


@sensitive_variables()
def _short_lived_pair_is_valid(channel_id: str, secret: str) -> bool:
    try:
        token = client.issue_short_lived_token(channel_id, secret).access_token
    except LineError as exc:
        if exc.kind == LineErrorKind.INVALID_CREDENTIALS:
            return False
        raise
    _revoke_quietly(token)
    return True


@sensitive_variables()
def _probe_login_pair(channel_id: str, secret: str) -> _Probe:
    """Issue (and revoke) a short-lived token: LINE documents this for Login channels. If the
    token also reads bot info, the pair is a Messaging API channel, i.e. in the wrong field."""
    try:
        token = client.issue_short_lived_token(channel_id, secret).access_token
    except LineError as exc:
        if exc.kind == LineErrorKind.INVALID_CREDENTIALS:
            return _Probe("invalid")
        raise
    try:
        client.get_bot_info(token)
    except LineError as exc:
        if not _is_refusal(exc):
            raise
        return _Probe("login")
    else:
        return _Probe("messaging")
    finally:
        _revoke_quietly(token)  # short-lived tokens are capped at 30 per channel: never leave one behind


@sensitive_variables()
def _revoke_quietly(token: str) -> None:
    try:
        client.revoke_short_lived_token(token)
    except LineError as exc:
        logger.warning("Could not revoke a verification token: %s", exc)


def _verdict(messaging: _Probe, login: _Probe) -> LinkError | None:
    m, lg = messaging.kind, login.kind
    if m == "messaging" and lg == "login":
        return None
    if m == "login" and lg == "messaging":
        return LinkError(
            "swapped",
            LINK_FAILED,
            SWAPPED + "Messaging APIの欄とLINEログインの欄の入力内容を入れ替えてお試しください。",
            ("messaging_channel_id", "login_channel_id"),
        )
    if m == "login":
        return LinkError(
            "swapped",
            LINK_FAILED,
            SWAPPED + "Messaging APIの欄に、LINEログインチャネルのチャネルIDとチャネルシークレットが入力されています。",
            ("messaging_channel_id",),
        )
    if lg == "messaging":
        return LinkError(
            "swapped",
            LINK_FAILED,
            SWAPPED + "LINEログインの欄に、Messaging APIチャネルのチャネルIDとチャネルシークレットが入力されています。",
            ("login_channel_id",),
        )
    if m == "invalid" and lg == "invalid":
        return LinkError(
            "both_invalid",
            LINK_FAILED,
            "Messaging APIとLINEログインのどちらも、チャネルIDまたはチャネルシークレットが正しくありません。",
            ("messaging_channel_id", "messaging_channel_secret", "login_channel_id", "login_channel_secret"),
        )
    if m == "invalid":
        return LinkError(
            "messaging_invalid",
            LINK_FAILED,
            "Messaging APIのチャネルIDまたはチャネルシークレットが正しくありません。",
            ("messaging_channel_id", "messaging_channel_secret"),
        )
    return LinkError(
        "login_invalid",
        LINK_FAILED,
        "LINEログインのチャネルIDまたはチャネルシークレットが正しくありません。",
        ("login_channel_id", "login_channel_secret"),
    )


@sensitive_variables()
def verify_credentials(credentials: ChannelCredentials) -> Verified:
    """Ask LINE whether both pairs are right and in the right fields.

    Raises LinkError (wrong values, swapped, or LINE unreachable); saves nothing."""
    try:
        messaging = _probe_messaging_pair(credentials.messaging_channel_id, credentials.messaging_channel_secret)
        login = _probe_login_pair(credentials.login_channel_id, credentials.login_channel_secret)
    except LineError as exc:
        logger.warning("LINE verification could not complete: %s", exc)
        raise LinkError("unreachable", LINE_UNREACHABLE) from exc
    problem = _verdict(messaging, login)
    if problem is not None:
        raise problem
    assert messaging.bot is not None and messaging.token is not None
    return Verified(messaging.bot, messaging.token)


# --- actions ------------------------------------------------------------------------------


def get_or_create_integration(company: Company) -> LineIntegration:
    """The company's integration row (未連携 until linked), created if there is none yet (to
    lock it: link and unlink select it FOR UPDATE). To read it without creating one, use
    `LineIntegration.objects.for_company_or_none(company)`."""
    integration, _ = LineIntegration.objects.get_or_create(company=company)
    return integration


def _channel_in_use() -> LinkError:
    return LinkError(
        "channel_in_use",
        LINK_FAILED,
        "このMessaging APIチャネル（LINE公式アカウント）は、別の企業アカウントで連携中です。",
        ("messaging_channel_id",),
    )


def _refusal(company: Company, integration: LineIntegration, bot: client.BotInfo) -> LinkError | None:
    """Rules checked after LINE said yes, under the row lock."""
    if integration.is_linked and integration.bot_user_id != bot.user_id:
        # Friends are friends of the old Official Account, under its provider's userIds: a switch strands them.
        friends = line_friend_count(company)
        if friends:
            return LinkError(
                "has_line_friends",
                "LINE公式アカウントを変更できませんでした。",
                f"LINE友達登録済みの候補者が{friends}名いるため、別のLINE公式アカウント（Messaging APIチャネル）に"
                "切り替えることはできません。チャネルシークレットを再発行した場合は、チャネルIDはそのままで"
                "新しいシークレットを入力してください。",
                ("messaging_channel_id",),
            )
    taken = LineIntegration.objects.filter(status=LineIntegration.Status.LINKED, bot_user_id=bot.user_id)
    if taken.exclude(company=company).exists():
        return _channel_in_use()
    return None


def _apply(
    integration: LineIntegration, credentials: ChannelCredentials, verified: Verified, actor: User | None
) -> list[str]:
    """Write the verified link onto the row (unsaved); returns the names of the changed inputs."""
    changed = [
        name
        for name in ("messaging_channel_id", "messaging_channel_secret", "login_channel_id", "login_channel_secret")
        if getattr(integration, name) != getattr(credentials, name)
    ]
    bot = verified.bot
    if integration.bot_user_id != bot.user_id:
        # Another Official Account: what we knew about the old one's webhook does not apply.
        for name in ("webhook_active", "webhook_set_at", "webhook_test_success", "webhook_test_status_code"):
            setattr(integration, name, None)
        integration.webhook_tested_at = None
        integration.webhook_endpoint = integration.webhook_test_reason = integration.webhook_test_detail = ""
    if not integration.is_linked:
        integration.linked_at = timezone.now()
        integration.linked_by = actor if actor is not None and actor.is_authenticated else None
    integration.status = LineIntegration.Status.LINKED
    integration.messaging_channel_id = credentials.messaging_channel_id
    integration.messaging_channel_secret = credentials.messaging_channel_secret
    integration.login_channel_id = credentials.login_channel_id
    integration.login_channel_secret = credentials.login_channel_secret
    integration.bot_user_id = bot.user_id
    integration.bot_basic_id = bot.basic_id
    integration.bot_display_name = bot.display_name
    integration.bot_picture_url = bot.picture_url
    integration.bot_chat_mode = bot.chat_mode
    # The token that just read bot info is good for 15 minutes: it becomes the channel's token.
    integration.access_token = verified.token.access_token
    integration.access_token_expires_at = timezone.now() + timedelta(seconds=verified.token.expires_in)
    return changed


@sensitive_variables("credentials")
def link(company: Company, actor: User | None, credentials: ChannelCredentials) -> LineIntegration:
    """連携を開始: verify both channels with LINE, then save them and the bot as 連携中.

    Also the way to change credentials while linked: they are verified again, and on any
    failure the existing link stays exactly as it was. Raises LinkError.
    """
    ids = {"messaging_channel_id": credentials.messaging_channel_id, "login_channel_id": credentials.login_channel_id}
    try:
        verified = verify_credentials(credentials)
    except LinkError as exc:
        summary = f"LINE連携を開始できませんでした（{exc.detail or exc.message}）"
        log_action(company, actor, "line.link_failed", summary[:300], problem=exc.problem, **ids)
        raise

    bot = verified.bot
    with transaction.atomic():
        get_or_create_integration(company)
        integration = LineIntegration.objects.select_for_update().get(company=company)
        was_linked = integration.is_linked
        error = _refusal(company, integration, bot)
        if error is None:
            changed = _apply(integration, credentials, verified, actor)
            try:
                with transaction.atomic():
                    integration.save()
            except IntegrityError:  # the same Official Account linked by another company meanwhile
                error = _channel_in_use()
        if error is not None:
            log_action(company, actor, "line.link_failed", error.detail[:300], problem=error.problem, **ids)
        elif was_linked:
            summary = f"LINE連携の設定を変更しました（{bot.display_name} {bot.basic_id}）"
            log_action(
                company, actor, "line.credentials_changed", summary, changed=changed, bot_basic_id=bot.basic_id, **ids
            )
        else:
            summary = f"LINE連携を開始しました（{bot.display_name} {bot.basic_id}）"
            log_action(company, actor, "line.linked", summary, bot_basic_id=bot.basic_id, **ids)
    if error is not None:
        raise error
    tokens.forget_token(integration)
    return integration


def unlink(company: Company, actor: User | None) -> LineIntegration:
    """解除: refused (UnlinkRefused) while any candidate is tied to a LINE user; otherwise the
    channels, secrets, token and bot are forgotten and the company can link again."""
    with transaction.atomic():
        get_or_create_integration(company)
        integration = LineIntegration.objects.select_for_update().get(company=company)
        if not integration.is_linked:
            return integration
        friends = line_friend_count(company)
        if friends:
            log_action(
                company,
                actor,
                "line.unlink_refused",
                f"LINE友達登録済みの候補者が{friends}名いるため解除できませんでした",
            )
            refused = UnlinkRefused(friends)
        else:
            refused = None
            name = integration.bot_display_name
            basic_id = integration.bot_basic_id
            integration.clear_link()
            integration.save()
            log_action(company, actor, "line.unlinked", f"LINE連携を解除しました（{name} {basic_id}）".strip())
    if refused is not None:
        raise refused
    tokens.forget_token(integration)
    return integration


def setup_webhook(company: Company, actor: User | None) -> LineIntegration:
    """Webhookを設定: set the endpoint to our webhook URL through the API, read back the "Use
    webhook" switch, and run LINE's webhook test. The result is stored even when the test fails;
    WebhookSetupError means LINE refused or could not be asked."""
    integration = LineIntegration.objects.for_company_or_none(company)
    if integration is None or not integration.is_linked:
        raise WebhookSetupError("LINE連携が開始されていません。先に「連携を開始」してください。")
    url = webhook_url(company)
    try:
        tokens.call_with_token(integration, client.set_webhook_endpoint, url)
    except LineError as exc:
        raise _webhook_error(company, actor, exc, "Webhook URLを設定できませんでした。") from exc
    except tokens.IntegrationNotLinked as exc:
        raise WebhookSetupError("LINE連携が開始されていません。") from exc
    now = timezone.now()
    try:
        active: bool | None = tokens.call_with_token(integration, client.get_webhook_endpoint).active
    except LineError:
        active = None  # only informative; the test below says whether it works
    try:
        result = tokens.call_with_token(integration, client.run_webhook_test)
    except LineError as exc:
        LineIntegration.objects.filter(pk=integration.pk).update(
            webhook_endpoint=url, webhook_active=active, webhook_set_at=now
        )
        raise _webhook_error(company, actor, exc, "Webhook URLは設定しましたが、動作確認ができませんでした。") from exc

    fields = {
        "webhook_endpoint": url,
        "webhook_active": active,
        "webhook_set_at": now,
        "webhook_test_success": result.success,
        "webhook_test_status_code": result.status_code,
        "webhook_test_reason": result.reason[:32],
        "webhook_test_detail": result.detail[:500],
        "webhook_tested_at": now,
    }
    LineIntegration.objects.filter(pk=integration.pk).update(**fields)
    for name, value in fields.items():
        setattr(integration, name, value)
    outcome = "成功" if result.success else f"失敗: {WEBHOOK_TEST_REASONS.get(result.reason, result.reason)}"
    log_action(
        company,
        actor,
        "line.webhook_set",
        f"Webhook URLを設定し、動作確認をしました（{outcome}）",
        endpoint=url,
        success=result.success,
        status_code=result.status_code,
        reason=result.reason,
    )
    return integration


def _webhook_error(company: Company, actor: User | None, exc: LineError, headline: str) -> WebhookSetupError:
    if exc.kind == LineErrorKind.RATE_LIMITED:
        detail = (
            "LINEの利用回数の上限に達しました（Webhookの動作確認は1時間に60回まで）。しばらくしてからお試しください。"
        )
    elif exc.transient:
        detail = LINE_UNREACHABLE
    elif exc.kind == LineErrorKind.INVALID:
        detail = (
            f"LINEがWebhook URLを受け付けませんでした（{exc.message}）。"
            "Webhook URLはHTTPSで、500文字以内である必要があります。"
        )
    elif exc.kind in (LineErrorKind.UNAUTHORIZED, LineErrorKind.INVALID_CREDENTIALS, LineErrorKind.FORBIDDEN):
        detail = (
            "Messaging APIチャネルの認証に失敗しました。チャネルシークレットを再発行した場合は、"
            "新しいシークレットを入力して「連携を開始」し直してください。"
        )
    else:
        detail = f"LINEからのエラー: {exc.message}"
    log_action(company, actor, "line.webhook_failed", f"{headline}{detail}"[:300], kind=str(exc.kind))
    return WebhookSetupError(f"{headline}{detail}")


ENCRYPTED_FIELDS = ("messaging_channel_secret", "login_channel_secret", "access_token")


@transaction.atomic
def forget_unreadable_secrets(company: Company, actor: User | None) -> None:
    """After a key rotation lost the old key: blank the stored secrets (written without
    reading them, as they cannot be read), so the recruiter can enter them again with 連携する.
    The channels, the bot and the friends stay as they were."""
    LineIntegration.objects.filter(company=company).update(**dict.fromkeys(ENCRYPTED_FIELDS, ""))
    log_action(company, actor, "line.secrets_forgotten", "読み取れないシークレットを消去しました（再入力が必要）")
