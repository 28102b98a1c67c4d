import re
import unicodedata
from typing import Any

from django import forms

from line_integration.linking.actions import ChannelCredentials
from line_integration.models import LineIntegration

CHANNEL_ID_RE = re.compile(r"^[0-9]{10}$")
CHANNEL_SECRET_RE = re.compile(r"^[0-9a-fA-F]{32}$")

CHANNEL_ID_HELP = "半角数字10桁。LINE Developersコンソールの「チャネル基本設定」に表示されています。"
SECRET_HELP = "半角英数字32文字。「チャネル基本設定」の「チャネルシークレット」です。"  # noqa: S105 (help text)


def _channel_id_field() -> forms.CharField:
    return forms.CharField(
        label="チャネルID",
        max_length=40,
        help_text=CHANNEL_ID_HELP,
        error_messages={"required": "チャネルIDを入力してください。"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "10桁の数字"}),
    )


def _secret_field() -> forms.CharField:
    # render_value=False: a stored or submitted secret is never written back into the page.
    return forms.CharField(
        label="チャネルシークレット",
        max_length=100,
        required=False,
        strip=True,
        help_text=SECRET_HELP,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}),
    )


class LineSettingsForm(forms.Form):
    """The four inputs of the LINE管理画面. A blank secret keeps the stored one (same channel only)."""

    messaging_channel_id = _channel_id_field()
    messaging_channel_secret = _secret_field()
    login_channel_id = _channel_id_field()
    login_channel_secret = _secret_field()

    def __init__(self, *args: Any, integration: LineIntegration, **kwargs: Any) -> None:
        self.integration = integration
        kwargs.setdefault(
            "initial",
            {
                "messaging_channel_id": integration.messaging_channel_id,
                "login_channel_id": integration.login_channel_id,
            },
        )
        super().__init__(*args, **kwargs)
        for prefix in ("messaging", "login"):
            stored = getattr(integration, f"{prefix}_channel_secret")
            widget = self.fields[f"{prefix}_channel_secret"].widget
            widget.attrs["placeholder"] = "変更する場合のみ入力" if stored else "32文字のチャネルシークレット"

    def _clean_channel_id(self, name: str) -> str:
        # Pasted ids may carry spaces or come in full-width digits from a Japanese IME.
        value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", self.cleaned_data.get(name, "")))
        if not CHANNEL_ID_RE.match(value):
            raise forms.ValidationError("チャネルIDは半角数字10桁で入力してください。", code="invalid")
        return value

    def clean_messaging_channel_id(self) -> str:
        return self._clean_channel_id("messaging_channel_id")

    def clean_login_channel_id(self) -> str:
        return self._clean_channel_id("login_channel_id")

    def _clean_secret(self, prefix: str) -> str:
        value = self.cleaned_data.get(f"{prefix}_channel_secret", "")
        if value and not CHANNEL_SECRET_RE.match(value):
            raise forms.ValidationError(
                "チャネルシークレットは半角英数字32文字（0〜9、a〜f）で入力してください。", code="invalid"
            )
        return value

    def clean_messaging_channel_secret(self) -> str:
        return self._clean_secret("messaging")

    def clean_login_channel_secret(self) -> str:
        return self._clean_secret("login")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for prefix in ("messaging", "login"):
            id_name, secret_name = f"{prefix}_channel_id", f"{prefix}_channel_secret"
            if cleaned.get(secret_name) or secret_name in self.errors:
                continue
            stored_secret = getattr(self.integration, secret_name)
            if not stored_secret:
                self.add_error(secret_name, "チャネルシークレットを入力してください。")
            elif id_name not in cleaned:
                continue  # the channel id has its own error
            elif cleaned[id_name] == getattr(self.integration, id_name):
                cleaned[secret_name] = stored_secret
            else:
                self.add_error(secret_name, "チャネルIDを変更した場合は、チャネルシークレットも入力してください。")
        m_id, l_id = cleaned.get("messaging_channel_id"), cleaned.get("login_channel_id")
        if m_id and l_id and m_id == l_id:
            self.add_error(
                "login_channel_id",
                "Messaging APIとLINEログインに同じチャネルIDが入力されています。"
                "それぞれのチャネルのIDを入力してください。",
            )
        return cleaned

    def credentials(self) -> ChannelCredentials:
        data = self.cleaned_data
        return ChannelCredentials(
            messaging_channel_id=data["messaging_channel_id"],
            messaging_channel_secret=data["messaging_channel_secret"],
            login_channel_id=data["login_channel_id"],
            login_channel_secret=data["login_channel_secret"],
        )
