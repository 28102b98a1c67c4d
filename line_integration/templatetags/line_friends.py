"""Template helpers for the LINE badges on the candidate screens."""

from django import template

from candidates.models import Candidate
from line_integration.friends.candidate_screens import open_conflicts

register = template.Library()


@register.simple_tag
def line_conflict_exists(candidate: Candidate) -> bool:
    """Whether a refused registration (one LINE account, two candidates) involves the candidate."""
    return open_conflicts(candidate).exists()
