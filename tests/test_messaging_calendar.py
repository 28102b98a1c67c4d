from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from messaging.calendar import Appointment, invitation

TOKYO = ZoneInfo("Asia/Tokyo")
APPOINTMENT = Appointment(
    uid="interview-1@example",
    start=datetime(2027, 3, 1, 10, 0, tzinfo=TOKYO),
    end=datetime(2027, 3, 1, 11, 0, tzinfo=TOKYO),
    summary="一次面接",
    location="本社 3F 会議室A",
    sequence=2,
)


def test_an_invitation_is_a_request_calendar_apps_can_read() -> None:
    name, data, content_type = invitation(APPOINTMENT)
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    assert (name, str(calendar["method"])) == ("invite.ics", "REQUEST")
    assert "method=REQUEST" in content_type
    assert event.decoded("dtstart") == APPOINTMENT.start
    assert (str(event["summary"]), str(event["location"]), event.decoded("sequence")) == (
        "一次面接",
        "本社 3F 会議室A",
        2,
    )


def test_a_cancellation_keeps_the_uid_so_the_calendar_removes_the_entry() -> None:
    name, data, _ = invitation(APPOINTMENT, cancelled=True)
    calendar = Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    assert (name, str(calendar["method"]), str(event["status"])) == ("cancel.ics", "CANCEL", "CANCELLED")
    assert str(event["uid"]) == "interview-1@example"
