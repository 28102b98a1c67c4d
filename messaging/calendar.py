"""Calendar files (.ics) attached to automatic emails: an event application or an interview
booking sends a REQUEST, its cancellation a CANCEL with the same UID and a higher SEQUENCE, so
the candidate's calendar app updates or removes the entry it added."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from icalendar import Calendar, Event

Attachment = tuple[str, bytes, str]  # what send_automatic takes: (file name, content, content type)
PRODID = "-//hrmos-line//ja"


@dataclass(frozen=True)
class Appointment:
    uid: str  # stable per booking, e.g. "interview-42@<company public id>"
    start: datetime
    end: datetime
    summary: str
    location: str = ""
    description: str = ""
    sequence: int = 0  # raise it on every change so calendar apps take the newer copy


def invitation(appointment: Appointment, *, cancelled: bool = False) -> Attachment:
    """An `Attachment` for `send_automatic`: invite.ics (METHOD:REQUEST) or cancel.ics."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", appointment.uid)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", appointment.summary)
    event.add("sequence", appointment.sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if appointment.location:
        event.add("location", appointment.location)
    if appointment.description:
        event.add("description", appointment.description)
    calendar.add_component(event)
    method = "CANCEL" if cancelled else "REQUEST"
    name = "cancel.ics" if cancelled else "invite.ics"
    return name, calendar.to_ical(), f"text/calendar; charset=utf-8; method={method}"
