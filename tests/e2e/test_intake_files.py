"""The reporter's files, report types, map points and citizens' accounts, end to end on
both databases: files checked by content and cleaned of EXIF, limited in size and number,
given neutral names, served to the reporter (with the secret) and to staff who may see
the report, announced on the topics; accounts with scrypt hashes, sessions, lockout."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from services.launcher import Platform
from tests.e2e.helpers import REPORT, fully_routed, scalar, staff_headers, submit, track, wait_for
from tests.kafka_helpers import read_topic
from tests.unit.test_areas_uploads import _jpeg_with_location

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _events(platform: Platform, topic: str, report_id: str) -> list[dict[str, Any]]:
    assert platform.bootstrap
    found = []
    for rec in read_topic(platform.bootstrap, f"{platform.namespace}.{topic}", idle=2):
        event = json.loads(rec.value or b"{}")
        if event.get("data", {}).get("report_id") == report_id:
            found.append(event["data"])
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_reporter_files_types_and_map_points(make_platform: Any, backend: str) -> None:
    platform: Platform = make_platform(
        backend,
        extra_env={"INTAKE_ATTACHMENT_MAX_BYTES": "300000", "INTAKE_MAX_UPLOAD_BYTES": "2000000"},
    )
    url = platform.url("intake")
    answer = submit(
        platform,
        report_type="information_request",
        latitude=-6.9147,
        longitude=107.6098,
        anonymous=False,
    )
    tn, rid, secret = answer["tracking_number"], answer["report_id"], answer["tracking_secret"]
    bad_point = httpx.post(f"{url}/v1/reports", json={"latitude": 95, "longitude": 1})
    assert bad_point.status_code == 422
    wait_for(lambda: fully_routed(platform, tn), what="routed")
    assert track(platform, tn).json()["report_type"] == "information_request"

    # Files with the secret: a photo with its location in EXIF, and a PDF.
    photo = _jpeg_with_location()
    r = httpx.post(
        f"{url}/v1/reports/{tn}/attachments",
        data={"secret": secret},
        files=[
            ("files", ("budi-santoso-ktp.JPG", photo, "image/jpeg")),
            ("files", ("surat.pdf", PDF, "application/pdf")),
        ],
    )
    assert r.status_code == 201, r.text
    refs = r.json()
    assert [f["filename"] for f in refs] == ["lampiran-1.jpg", "lampiran-2.pdf"]
    photo_id = refs[0]["attachment_id"]

    # Refusals, each with its reason, and nothing stored for them.
    def attach(*files: tuple[str, bytes], key: str = secret) -> httpx.Response:
        return httpx.post(
            f"{url}/v1/reports/{tn}/attachments",
            data={"secret": key},
            files=[("files", (n, d, "image/jpeg")) for n, d in files],
            headers={"accept-language": "id"},
        )

    exe = attach(("foto.jpg", b"MZ\x90\x00" + b"\x00" * 200))
    assert exe.status_code == 422 and "Jenis berkas" in exe.text
    big = attach(("besar.pdf", b"%PDF-1.4\n" + b"0" * 400_000))
    assert big.status_code == 422 and "MB" in big.text
    broken = attach(("rusak.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 50))
    assert broken.status_code == 422 and "rusak" in broken.text
    many = attach(*[(f"{n}.pdf", PDF) for n in range(4)])
    assert many.status_code == 422 and "Paling banyak 5" in many.text
    assert attach(("x.pdf", PDF), key="salah-rahasia-123").status_code == 404
    huge = httpx.post(
        f"{url}/v1/reports/{tn}/attachments",
        data={"secret": secret},
        files=[("files", ("huge.pdf", b"%PDF-" + b"0" * 2_500_000, "application/pdf"))],
    )
    assert huge.status_code == 413
    stored = scalar(
        platform, "intake", "SELECT count(*) FROM report_attachments WHERE report_id = :r", r=rid
    )
    assert stored == 2

    # The reporter downloads with the secret: the photo has no EXIF left.
    own = httpx.get(f"{url}/v1/reports/{tn}/attachments/{photo_id}", params={"secret": secret})
    assert own.status_code == 200 and own.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(own.content)) as img:
        assert not img.getexif()
    assert b"CanonSecret" not in own.content
    assert httpx.get(f"{url}/v1/reports/{tn}/attachments/{photo_id}").status_code == 404
    listed = track(platform, tn, secret=secret).json()["attachments"]
    assert [f["filename"] for f in listed] == ["lampiran-1.jpg", "lampiran-2.pdf"]
    assert track(platform, tn).json()["attachments"] is None

    # Staff: the agency holding it and verifiers; another agency gets 404, no token 401.
    staff_url = f"{url}/v1/staff/reports/{rid}/attachments/{photo_id}"
    assert httpx.get(staff_url).status_code == 401
    holder = staff_headers(platform, "agency_officer", "pemda-32.73")
    assert httpx.get(staff_url, headers=holder).content == own.content
    other = staff_headers(platform, "agency_officer", "pemda-35.78")
    assert httpx.get(staff_url, headers=other).status_code == 404
    assert httpx.get(staff_url, headers=staff_headers(platform, "verifier")).status_code == 200
    # The consoles' sign-in cookie opens it too (the agency console links here).
    token = holder["Authorization"].split()[1]
    assert httpx.get(staff_url, cookies={"aduan_staff_routing": token}).status_code == 200

    # The agency's view in routing: the type, the point, the files linked to intake.
    def agency_view() -> dict[str, Any] | None:
        d = httpx.get(f"{platform.url('routing')}/v1/reports/{rid}", headers=holder).json()
        return d if len(d["reporter_files"]) == 2 else None

    view = wait_for(agency_view, what="the files in routing")
    assert view["report_type"] == "information_request"
    assert view["location"] == {"lat": -6.9147, "long": 107.6098}
    assert view["reporter_files"][0]["url"] == staff_url
    # And the verifiers' case, which links them the same way.
    verifier = staff_headers(platform, "verifier")

    def case_files() -> list[dict[str, Any]] | None:
        case = httpx.get(f"{platform.url('verification')}/v1/cases/{rid}", headers=verifier)
        return case.json()["reporter_files"] or None

    assert wait_for(case_files, what="the case files")[0]["url"] == staff_url

    # The events: the type and point with the report, the files with the information.
    submitted = _events(platform, "report.submitted", rid)[0]
    assert submitted["report_type"] == "information_request"
    assert submitted["location"] == {"lat": -6.9147, "long": 107.6098}
    added = wait_for(lambda: _events(platform, "report.information_added", rid), what="added")
    assert [a["filename"] for a in added[0]["attachments"]] == ["lampiran-1.jpg", "lampiran-2.pdf"]
    assert "budi" not in json.dumps(added).lower()
    assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_citizens_accounts(make_platform: Any) -> None:
    platform: Platform = make_platform("postgresql")
    url = platform.url("intake")
    form = {
        "username": "warga.bandung",
        "password": "kopi-susu-hangat-42",
        "password2": "kopi-susu-hangat-42",
        "name": "Rina Wulandari",
        "phone": "081355550001",
    }
    weak = httpx.post(f"{url}/akun/daftar", data={**form, "password": "abc", "password2": "abc"})
    assert weak.status_code == 422 and "minimal 10" in weak.text
    differ = httpx.post(f"{url}/akun/daftar", data={**form, "password2": "lain-lagi-12345"})
    assert differ.status_code == 422
    made = httpx.post(f"{url}/akun/daftar", data=form)
    assert made.status_code == 303 and made.headers["location"] == "/akun"
    assert "httponly" in made.headers["set-cookie"].lower()
    again = httpx.post(f"{url}/akun/daftar", data=form)
    assert again.status_code == 422 and "sudah dipakai" in again.text
    stored = scalar(platform, "intake", "SELECT password_hash FROM accounts")
    assert stored.startswith("scrypt$32768$8$1$") and "kopi" not in stored

    # Signed in, a report needs no contact fields and opens without its code.
    citizen = httpx.Client(base_url=url, cookies=made.cookies)
    r = citizen.post(
        "/lapor",
        data={
            "title": "Antrean KTP elektronik",
            "body": "Di kantor Disdukcapil Kota Bandung antrean perekaman KTP-el sejak pagi "
            "tidak dilayani karena petugas tidak ada, kemarin Senin pukul 09.00.",
            "category": "kependudukan",
            "regency_code": "32.73",
            "report_type": "complaint",
        },
        files=[("lampiran", ("", b"", "application/octet-stream"))],  # no file chosen
    )
    assert r.status_code == 201, r.text
    tn = r.text.split('id="tracking-number">#', 1)[1][:7]
    mine = citizen.get("/akun")
    assert f'data-tn="{tn}"' in mine.text and "warga.bandung" in mine.text
    assert 'id="add"' in citizen.get(f"/lacak/{tn}").text  # the owner's forms, no code
    assert 'id="add"' not in httpx.get(f"{url}/lacak/{tn}").text  # anyone else: no forms
    wait_for(lambda: fully_routed(platform, tn), what="routed")
    public = httpx.get(f"{url}/laporan/{tn}").text
    assert "warga.bandung" in public and "Rina" not in public and "5555" not in public

    # Wrong passwords lock the account for a while, the right one included.
    for _ in range(5):
        wrong = httpx.post(
            f"{url}/akun/masuk", data={"username": form["username"], "password": "x"}
        )
        assert wrong.status_code == 401
    locked = httpx.post(
        f"{url}/akun/masuk", data={"username": form["username"], "password": form["password"]}
    )
    assert locked.status_code == 401 and "15 menit" in locked.text
    unknown = httpx.post(f"{url}/akun/masuk", data={"username": "nobody", "password": "x" * 12})
    assert unknown.status_code == 401

    # Signing out ends the session on the server.
    out = citizen.post("/akun/keluar")
    assert out.status_code == 303
    assert httpx.get(f"{url}/akun", cookies=made.cookies).status_code == 303


def test_blocked_senders(make_platform: Any) -> None:
    platform: Platform = make_platform("sqlite")
    url = platform.url("intake")
    admin = staff_headers(platform)
    blocks = f"{url}/v1/blocked-senders"
    body = {"phone": "0813-5555-0009", "reason": "Ratusan laporan palsu dalam sehari"}
    assert httpx.post(blocks, json=body).status_code == 401
    assert (
        httpx.post(blocks, json=body, headers=staff_headers(platform, "verifier")).status_code
        == 403
    )
    assert httpx.post(blocks, json={"reason": "tanpa pengirim"}, headers=admin).status_code == 422
    made = httpx.post(blocks, json=body, headers=admin)
    assert made.status_code == 201 and made.json()["sender"] == "0813-5555-XXXX"
    assert httpx.post(blocks, json=body, headers=admin).status_code == 409
    mail = httpx.post(blocks, json={"email": "Spam@Example.id", "reason": "spam"}, headers=admin)
    assert mail.status_code == 201 and mail.json()["sender"] == "s***@example.id"
    listed = httpx.get(blocks, headers=admin).json()
    assert len(listed) == 2 and "081355550009" not in json.dumps(listed)

    # Refused on every channel, with the reason.
    r = httpx.post(f"{url}/v1/reports", json={**REPORT, "reporter": {"phone": "+6281355550009"}})
    assert r.status_code == 403 and "diblokir" in r.json()["detail"]
    r = httpx.post(
        f"{url}/v1/reports",
        json={**REPORT, "reporter": {"email": "spam@example.id"}},
        headers={"accept-language": "en"},
    )
    assert r.status_code == 403 and "blocked" in r.json()["detail"]
    web = httpx.post(
        f"{url}/lapor",
        data={
            "title": "Jalan rusak",
            "body": REPORT["body"],
            "category": "infrastruktur",
            "regency_code": "32.73",
            "email": "SPAM@example.id",
        },
    )
    assert web.status_code == 403 and "diblokir" in web.text
    before = scalar(platform, "intake", "SELECT count(*) FROM reports")
    assert before == 0

    # Lifted, the sender reports again.
    assert httpx.delete(f"{blocks}/{made.json()['id']}", headers=admin).status_code == 204
    assert httpx.delete(f"{blocks}/{made.json()['id']}", headers=admin).status_code == 404
    submit(platform, reporter={"phone": "081355550009"})
