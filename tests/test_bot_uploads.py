"""Admins add documents by sending them; the bot downloads, indexes and reports."""

from __future__ import annotations

from bot.uploads import safe_name
from tests.bot_harness import bot_settings, running
from tests.fake_telegram import bare, public

ADMIN, USER = 9001, 4242
SAFFRON = (
    "Saffron harvest in Herat\n\n"
    "Farmers in Ghoryan district harvested 42 tonnes of saffron this autumn, "
    "and the Herat Saffron Union exported most of it to Spain."
)


def _document(api, user_id, name, data, lang="en"):
    file_id = f"f{len(api.files)}"
    api.files[file_id] = data
    chat = {"id": user_id, "type": "private", "first_name": "U"}
    doc = {
        "file_id": file_id,
        "file_unique_id": "u" + file_id,
        "file_name": name,
        "file_size": len(data),
    }
    return api.message(chat, user_id, lang, document=doc)


async def test_admin_upload_is_indexed_and_answerable(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    async with running(api, settings):
        api.push(_document(api, ADMIN, "herat saffron.txt", SAFFRON.encode()))
        [report] = await api.wait_sent(ADMIN)
        api.push(api.private_text(ADMIN, "How many tonnes of saffron did Ghoryan farmers harvest?"))
        [_, answer] = await api.wait_sent(ADMIN, 2)
        api.push(_document(api, ADMIN, "herat saffron.txt", SAFFRON.encode()))
        again = (await api.wait_sent(ADMIN, 3))[2]
    assert bare(report["text"]).startswith("Added “herat_saffron.txt”: 1 new passages")
    assert "42 tonnes" in answer["text"]
    assert "Saffron harvest in Herat" in bare(answer["text"])  # the source list names it
    assert "already added" in again["text"]
    assert (settings.data_dir / "uploads" / "herat_saffron.txt").read_text() == SAFFRON


async def test_upload_survives_a_full_reingest(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    async with running(api, settings) as app:
        api.push(_document(api, ADMIN, "saffron.md", SAFFRON.encode()))
        await api.wait_sent(ADMIN)
        index = app.bot_data["sanad"].conversation.answerer.index
        report = index.ingest()  # what `sanad ingest` does
    assert "saffron" not in report.removed
    assert "saffron" in index.catalog_documents


async def test_non_admin_upload_is_refused(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    async with running(api, settings):
        api.push(_document(api, USER, "notes.txt", SAFFRON.encode(), lang="fa"))
        [reply] = await api.wait_sent(USER)
    assert reply["text"] == "تنها مدیران می‌توانند سند به منابع بیفزایند."
    assert not api.calls("getFile")  # nothing was downloaded
    assert not (settings.data_dir / "uploads").exists()


async def test_bad_uploads_get_clear_messages(api, monkeypatch):
    settings = bot_settings(
        api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN), SANAD_MAX_UPLOAD_BYTES="2000"
    )
    cases = [
        ("report.pdf", b"%PDF-1.7", "Only .txt, .md and .html files can be added."),
        ("big.txt", b"x " * 2000, "The file is larger than 0.0 MB."),
        (
            "latin1.txt",
            "café Herat".encode("latin-1"),
            "Could not read “latin1.txt”: it is not UTF-8",
        ),
        (
            "empty.html",
            b"<html><body><script>x()</script></body></html>",
            "“empty.html” has no text",
        ),
    ]
    async with running(api, settings):
        for i, (name, data, _) in enumerate(cases, 1):
            api.push(_document(api, ADMIN, name, data))
            await api.wait_sent(ADMIN, i)
    for (_, _, expected), reply in zip(cases, api.sent(ADMIN), strict=True):
        assert bare(reply["text"]).startswith(expected)
    uploads = settings.data_dir / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_upload_names_cannot_escape_the_uploads_folder():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\win.md") == "win.md"
    assert safe_name(".hidden.TXT") == "hidden.txt"
    assert safe_name("گزارش هرات.txt") == "گزارش_هرات.txt"


async def test_a_rejected_re_upload_changes_nothing(api, monkeypatch):
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    async with running(api, settings):
        api.push(_document(api, ADMIN, "herat saffron.txt", SAFFRON.encode()))
        await api.wait_sent(ADMIN)
        api.push(_document(api, ADMIN, "herat saffron.txt", b"  \n\n -- \n"))
        rejected = (await api.wait_sent(ADMIN, 2))[1]
        api.push(_document(api, ADMIN, "herat saffron.txt", "café".encode("latin-1")))
        unreadable = (await api.wait_sent(ADMIN, 3))[2]
        api.push(api.private_text(ADMIN, "How many tonnes of saffron did Ghoryan farmers harvest?"))
        answer = (await api.wait_sent(ADMIN, 4))[3]
    assert "has no text" in bare(rejected["text"])
    assert "not UTF-8" in bare(unreadable["text"])
    assert "42 tonnes" in answer["text"]  # the earlier upload is still there and indexed
    uploads = settings.data_dir / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["herat_saffron.txt"]
    assert (uploads / "herat_saffron.txt").read_bytes() == SAFFRON.encode()


async def test_control_characters_and_repeats_in_an_upload_stay_out_of_replies(api, monkeypatch):
    said = "The Herat Saffron Union exported 42 tonnes to Spain."
    text = (
        f"Saffron\x00 harvest in Herat\n\nFarmers in\x07 Ghoryan\x1b worked. {said} {said} {said}"
    )
    settings = bot_settings(api, monkeypatch, SANAD_ADMIN_IDS=str(ADMIN))
    async with running(api, settings):
        api.push(_document(api, ADMIN, "saffron.txt", text.encode()))
        await api.wait_sent(ADMIN)
        api.push(api.private_text(ADMIN, "How many tonnes did the Herat Saffron Union export?"))
        [_, answer] = await api.wait_sent(ADMIN, 2)
        sources = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        api.push(api.press(ADMIN, public(answer), sources))
        await api.wait_sent(ADMIN, 3)
    for call in api.calls("sendMessage"):
        assert not any(ch in call.params["text"] for ch in "\x00\x07\x1b")
    assert bare(answer["text"]).count("exported 42 tonnes") == 1  # quoted once, not thrice
