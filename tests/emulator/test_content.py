import base64
import json

import pytest
import requests
from linebot.v3.messaging import ApiException
from linebot.v3.messaging.exceptions import NotFoundException

PDF = b"%PDF-1.4\n% resume\n%%EOF\n"


def test_file_content_comes_back_with_its_content_type(line_emulator, blob, pair):
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, PDF, file_name="履歴書.pdf")
    response = blob.get_message_content_with_http_info(sent["message_id"])
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"


def test_unknown_message_content_is_404(blob):
    with pytest.raises(NotFoundException) as caught:
        blob.get_message_content("123456789012345678")
    assert json.loads(caught.value.body) == {"message": "not found"}


def test_unsent_content_is_410_gone(line_emulator, blob, pair):
    sent = line_emulator.send_image(pair.messaging_channel_id, pair.persona_id, b"\xff\xd8\xff photo")
    line_emulator.unsend(pair.messaging_channel_id, pair.persona_id, sent["message_id"])
    with pytest.raises(ApiException) as caught:
        blob.get_message_content(sent["message_id"])
    assert caught.value.status == 410
    assert json.loads(caught.value.body) == {"message": "The content is gone"}


def test_content_past_the_retention_period_is_410(line_emulator, blob, pair):
    line_emulator.set_settings(content_retention_seconds=3600)
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, PDF)
    line_emulator.advance_clock(3601)
    with pytest.raises(ApiException) as caught:
        blob.get_message_content(sent["message_id"])
    assert caught.value.status == 410


def test_video_is_202_while_preparing_then_200(line_emulator, blob, pair):
    video = base64.b64encode(b"\x00\x00\x00\x18ftypmp42").decode()
    sent = line_emulator.send_message(
        pair.messaging_channel_id, pair.persona_id, type="video", content_base64=video, preparing_seconds=30
    )
    preparing = blob.get_message_content_with_http_info(sent["message_id"])
    assert (preparing.status_code, preparing.raw_data) == (202, "")
    assert blob.get_message_content_transcoding_by_message_id(sent["message_id"]).status == "processing"
    line_emulator.advance_clock(31)
    assert blob.get_message_content_with_http_info(sent["message_id"]).status_code == 200
    assert blob.get_message_content_transcoding_by_message_id(sent["message_id"]).status == "succeeded"


def test_injected_202_fault_answers_preparing_once(line_emulator, blob, pair):
    sent = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, PDF)
    line_emulator.fault("GET /v2/bot/message/{messageId}/content", "202")
    assert blob.get_message_content_with_http_info(sent["message_id"]).status_code == 202
    assert blob.get_message_content_with_http_info(sent["message_id"]).status_code == 200


def test_preview_is_for_images_only(line_emulator, blob, pair):
    image = line_emulator.send_image(pair.messaging_channel_id, pair.persona_id, b"\xff\xd8\xff photo")
    assert blob.get_message_content_preview(image["message_id"]) == b"\xff\xd8\xff photo"
    document = line_emulator.send_file(pair.messaging_channel_id, pair.persona_id, PDF)
    with pytest.raises(ApiException) as caught:
        blob.get_message_content_preview(document["message_id"])
    assert json.loads(caught.value.body) == {"message": "The content can not be previewed"}


def test_the_sticker_cdn_serves_a_picture_for_any_sticker_id(line_emulator):
    path = "/stickershop/v1/sticker/{}/android/sticker.png"
    one = requests.get(line_emulator.base_url + path.format("1988"), timeout=5)
    other = requests.get(line_emulator.base_url + path.format("52002734"), timeout=5)

    assert one.status_code == 200 and one.headers["Content-Type"] == "image/png"
    assert one.content.startswith(b"\x89PNG\r\n\x1a\n") and one.content != other.content
    assert requests.get(line_emulator.base_url + path.format("abc"), timeout=5).status_code == 404
