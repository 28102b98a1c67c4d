from typing import Any

from hrmos.models import AuditEvent, Company, User


def log_action(company: Company, actor: User | None, action: str, summary: str = "", **data: Any) -> AuditEvent:
    """Record a state change for the company's audit trail. Never pass secrets in `data`."""
    actor = actor if actor is not None and actor.is_authenticated else None
    return AuditEvent.objects.create(company=company, actor=actor, action=action, summary=summary, data=data)
