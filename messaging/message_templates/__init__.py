"""Saved texts: the company's message templates (メッセージテンプレート), picked on every compose
screen, and the templates of the automatic emails (自動送信メール設定)."""
