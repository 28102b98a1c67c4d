"""Holding interviewers and rooms for a confirmed interview, with no double booking.

`hold(interview, now)` is the one writer of `Booking` rows: called in the caller's transaction
after an interview's time, people, room or status changed. It checks for overlaps to name who
is busy, and writes the rows (in a fixed order: users by id, then the room). PostgreSQL's
exclusion constraints decide a race: an overlapping row another transaction is inserting makes
the insert wait for it, and once that one commits the insert is refused, which becomes the same
`Conflict`. So only bookings that overlap wait for each other; bookings of the same people at
other times go side by side. (SQLite, in development, has one writer at a time: the check
decides there.)
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hrmos.models import User
from selection.models import Booking, Interview, Room


class Conflict(Exception):
    """The interview cannot be held; the message is for the recruiter or the candidate."""


def check_people(interview: Interview, users: list[User]) -> None:
    """Interviewers must be active recruiters of the interview's company."""
    for user in users:
        if user.company_id != interview.company_id or not user.is_active:
            raise Conflict(f"{user.display_name} さんはこの企業の採用担当者ではないため、面接官にできません。")


def busy_with(interview: Interview, users: list[User], room: Room | None) -> Booking | None:
    """A booking of another interview that overlaps this one's time for one of its people or room."""
    who = Q(user__in=[u.pk for u in users])
    if room is not None:
        who |= Q(room=room)
    return (
        Booking.objects.filter(who, start_at__lt=interview.end_at, end_at__gt=interview.start_at)
        .exclude(interview=interview)
        .select_related("user", "room", "interview")
        .first()
    )


def conflict_message(booking: Booking) -> str:
    when = timezone.localtime(booking.start_at)
    end = timezone.localtime(booking.end_at)
    what = f"{booking.user.display_name} さん" if booking.user else f"会議室「{booking.room}」"
    return f"{what}は {when:%Y/%m/%d %H:%M}〜{end:%H:%M} に別の面接が入っているため、登録できません。"


def hold(interview: Interview) -> None:
    """Make the interview's bookings follow it: one row per interviewer and room while it is
    confirmed (or done), none otherwise. Raises Conflict when someone is taken."""
    Booking.objects.filter(interview=interview).delete()
    if not interview.is_holding:
        return
    users = list(interview.interviewers.order_by("pk"))
    room = interview.room
    check_people(interview, users)
    if (busy := busy_with(interview, users, room)) is not None:
        raise Conflict(conflict_message(busy))
    rows = [
        Booking(
            company_id=interview.company_id,
            interview=interview,
            user=user,
            start_at=interview.start_at,
            end_at=interview.end_at,
        )
        for user in users
    ]
    if room is not None:
        rows.append(
            Booking(
                company_id=interview.company_id,
                interview=interview,
                room=room,
                start_at=interview.start_at,
                end_at=interview.end_at,
            )
        )
    try:
        with transaction.atomic():
            Booking.objects.bulk_create(rows)
    except IntegrityError as refused:  # another transaction wrote an overlapping booking meanwhile
        busy = busy_with(interview, users, room)
        if busy is not None:
            raise Conflict(conflict_message(busy)) from refused
        raise Conflict("面接官または会議室が同じ時間に別の面接で埋まっているため、登録できません。") from refused
