"""The emulated LINE platform's state: providers, channels, personas and what passed between them."""

from django.db import models


class Provider(models.Model):
    name = models.CharField(max_length=100)
    # Keys the per-provider user ids; never leaves the emulator.
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class Persona(models.Model):
    """One emulated LINE user. Gets a different userId in each provider."""

    persona_id = models.CharField(max_length=64, primary_key=True)
    display_name = models.CharField(max_length=50)
    picture_url = models.CharField(max_length=500, blank=True)
    status_message = models.CharField(max_length=500, blank=True)
    language = models.CharField(max_length=10, default="ja")
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.display_name


class LineUser(models.Model):
    """The provider-scoped userId of a persona (`U` + 32 hex)."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="users")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="line_users")
    user_id = models.CharField(max_length=33, unique=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "persona"], name="one_user_id_per_provider")]

    def __str__(self) -> str:
        return self.user_id


class Channel(models.Model):
    MESSAGING = "messaging"
    LOGIN = "login"
    KINDS = [(MESSAGING, "Messaging API"), (LOGIN, "LINEログイン")]
    DEVELOPING = "developing"
    PUBLISHED = "published"
    STATUSES = [(DEVELOPING, "開発中"), (PUBLISHED, "公開済み")]

    channel_id = models.CharField(max_length=10, primary_key=True)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=10, choices=KINDS)
    secret = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    # Messaging API channel (the LINE Official Account).
    bot_user_id = models.CharField(max_length=33, blank=True)
    basic_id = models.CharField(max_length=20, blank=True)
    display_name = models.CharField(max_length=100, blank=True)
    picture_url = models.CharField(max_length=500, blank=True)
    chat_mode = models.CharField(max_length=4, default="bot")
    mark_as_read_mode = models.CharField(max_length=6, default="auto")
    webhook_url = models.CharField(max_length=500, blank=True)
    webhook_active = models.BooleanField(default=True)
    redelivery_enabled = models.BooleanField(default=False)
    quota_limit = models.IntegerField(null=True, blank=True)  # None: {"type":"none"}
    monthly_usage = models.IntegerField(default=0)
    usage_month = models.CharField(max_length=7, blank=True)  # "YYYY-MM" (JST) the usage counts for
    # LINE Login channel.
    callback_urls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=DEVELOPING)
    linked_oa = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email_permission = models.BooleanField(default=False)
    role_personas = models.ManyToManyField(Persona, blank=True, related_name="developer_of")

    def __str__(self) -> str:
        return f"{self.name} ({self.channel_id})"

    @property
    def is_messaging(self) -> bool:
        return self.kind == self.MESSAGING


class Friendship(models.Model):
    FOLLOWING = "following"
    BLOCKED = "blocked"
    STATES = [(FOLLOWING, "友だち"), (BLOCKED, "ブロック中")]

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="friendships")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="friendships")
    state = models.CharField(max_length=10, choices=STATES)
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "persona"], name="one_friendship_per_pair")]

    def __str__(self) -> str:
        return f"{self.persona_id} → {self.channel_id}: {self.state}"


class Consent(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="consents")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="consents")
    scopes = models.JSONField(default=list)
    granted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "persona"], name="one_consent_per_pair")]

    def __str__(self) -> str:
        return f"{self.persona_id} → {self.channel_id}: {' '.join(self.scopes)}"


class AccessToken(models.Model):
    SHORT_LIVED = "short_lived"
    LONG_LIVED = "long_lived"
    STATELESS = "stateless"
    USER = "user"  # LINE Login access token of a persona
    KINDS = [(SHORT_LIVED, "short-lived"), (LONG_LIVED, "long-lived"), (STATELESS, "stateless"), (USER, "user")]

    token = models.CharField(max_length=300, unique=True)
    kind = models.CharField(max_length=12, choices=KINDS)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="tokens")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.CASCADE)
    scopes = models.JSONField(default=list, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never (long-lived)
    revoked = models.BooleanField(default=False)
    refresh_token = models.CharField(max_length=100, null=True, blank=True, unique=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "kind", "revoked"])]

    def __str__(self) -> str:
        return f"{self.kind} token of {self.channel_id}"


class AuthCode(models.Model):
    code = models.CharField(max_length=64, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=1000)
    scopes = models.JSONField(default=list)
    nonce = models.CharField(max_length=300, blank=True)
    code_challenge = models.CharField(max_length=200, blank=True)
    amr = models.CharField(max_length=20, default="pwd")
    auth_time = models.DateTimeField(null=True, blank=True)  # set when max_age was requested
    created_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"code for {self.persona_id} at {self.channel_id}"


class LoginSession(models.Model):
    """One trip through the authorize pages (login → consent → add friend)."""

    key = models.CharField(max_length=64, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    params = models.JSONField()
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.CASCADE)
    amr = models.CharField(max_length=20, default="pwd")
    authenticated_at = models.DateTimeField(null=True, blank=True)
    friend_option_shown = models.BooleanField(default=False)
    add_friend = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    finished = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"login to {self.channel_id}"


class RetryKey(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    endpoint = models.CharField(max_length=20)
    key = models.CharField(max_length=100)
    request_id = models.CharField(max_length=40)
    sent_messages = models.JSONField(null=True, blank=True)
    accepted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "endpoint", "key"], name="one_retry_key")]

    def __str__(self) -> str:
        return self.key


class OutboxMessage(models.Model):
    """One recipient of a push, multicast or reply: the mailbox tests assert on."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="outbox")
    kind = models.CharField(max_length=10)  # push | multicast | reply
    request_id = models.CharField(max_length=40)
    retry_key = models.CharField(max_length=100, blank=True)
    to = models.CharField(max_length=40)
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.SET_NULL)
    messages = models.JSONField()
    sent_messages = models.JSONField(default=list)
    delivered = models.BooleanField()
    undelivered_reason = models.CharField(max_length=20, blank=True)
    notification_disabled = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["channel", "persona", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.request_id} to {self.to}"


class InboundMessage(models.Model):
    """A message a persona sent to an Official Account, with its content for /content."""

    message_id = models.CharField(max_length=20, primary_key=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE)
    type = models.CharField(max_length=10)
    text = models.TextField(blank=True)
    body = models.JSONField(default=dict)  # the webhook's message object
    content = models.BinaryField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    file_name = models.CharField(max_length=300, blank=True)
    preparing_until = models.DateTimeField(null=True, blank=True)
    transcoding_failed = models.BooleanField(default=False)
    unsent = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["channel", "persona", "created_at"])]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class WebhookEvent(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=26, unique=True)
    type = models.CharField(max_length=30)
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.SET_NULL)
    payload = models.JSONField()  # the event object as first sent (isRedelivery false)
    reply_token = models.CharField(max_length=32, null=True, blank=True, unique=True)
    reply_token_used = models.BooleanField(default=False)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    delivered = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookAttempt(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_attempts")
    url = models.CharField(max_length=500)
    event_ids = models.JSONField(default=list)
    is_test = models.BooleanField(default=False)
    is_redelivery = models.BooleanField(default=False)
    attempt = models.IntegerField(default=1)
    status_code = models.IntegerField(default=0)
    reason = models.CharField(
        max_length=20
    )  # ok | could_not_connect | request_timeout | error_status_code | unclassified
    detail = models.CharField(max_length=500, blank=True)
    latency_ms = models.IntegerField(default=0)
    signature = models.CharField(max_length=100, blank=True)
    body = models.BinaryField()
    started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.reason} {self.status_code} → {self.url}"

    @property
    def body_text(self) -> str:
        """The exact bytes sent, as the UTF-8 text they are (the console shows this, not b'…')."""
        return bytes(self.body).decode("utf-8", errors="replace")


class EmulatorState(models.Model):
    """Singleton: the clock offset and the knobs set through PATCH /_emu/settings."""

    clock_offset_seconds = models.FloatField(default=0)
    settings = models.JSONField(default=dict)

    def __str__(self) -> str:
        return "emulator state"
