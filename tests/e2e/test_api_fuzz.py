"""Every service's API from outside, on one running platform:

- schemathesis walks each service's OpenAPI document (examples, boundary values and
  random data, bounded) with an administrator's token: any 5xx fails it;
- the authorization matrix walks every id-bearing route of every OpenAPI document as no
  one, with forged, ``alg=none``, expired and unknown-role tokens, as an officer of
  another agency, a verifier and an administrator, with the ids of a real report: no
  answer is a 5xx, a bad token is never better than none, and no route that is not a
  citizen's or a region's answers anyone without a valid token; another agency's officer
  reads nothing of the report.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from services import auth
from services.launcher import Platform
from tests.e2e.helpers import fully_routed, routing_of, submit, wait_for

pytestmark = pytest.mark.e2e

SERVICES = ("intake", "verification", "routing", "sla", "notifications")
# Routes anyone may call: the citizens' (proven by a tracking secret, or public) and the
# regions' (their own tokens), the platform's health and metrics.
PUBLIC = re.compile(
    r"^/(v1/reports/\{tracking_number\}|v1/areas|v1/categories|open311|v1/sms|health|metrics|"
    r"v1/region/|v1/reporter-files/)"
)


def _schemathesis(platform: Platform, service: str, token: str, where: Path) -> str:
    url = platform.url(service)
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{url}/openapi.json",
            "--url",
            url,
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "30",
            "--header",
            f"Authorization: Bearer {token}",
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
            "--request-timeout",
            "20",
            "--seed",
            "1708",
            "--report",
            "junit",
            "--report-dir",
            str(where / service),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=where,  # its cache (.schemathesis/) stays with the test's files
    )
    assert run.returncode == 0, f"{service}: schemathesis found 5xx\n{run.stdout[-6000:]}"
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    return summary.group(0) if summary else run.stdout[-300:]


def _forged_tokens(secret: str) -> dict[str, str]:
    now = datetime.now(UTC)
    claims = {"iss": auth.ISSUER, "aud": auth.AUDIENCE, "sub": "x", "role": "administrator"}
    unsigned = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = base64.urlsafe_b64encode(
        json.dumps({**claims, "exp": int((now + timedelta(hours=1)).timestamp())}).encode()
    )
    return {
        "forged": jwt.encode({**claims, "exp": now + timedelta(hours=1)}, "w" * 40, "HS256"),
        "alg_none": f"{unsigned.decode().rstrip('=')}.{body.decode().rstrip('=')}.",
        "expired": jwt.encode({**claims, "exp": now - timedelta(minutes=1)}, secret, "HS256"),
        "unknown_role": jwt.encode(
            {**claims, "role": "superuser", "exp": now + timedelta(hours=1)}, secret, "HS256"
        ),
    }


def test_every_api_holds_from_outside(make_platform: Any, tmp_path: Path) -> None:
    platform: Platform = make_platform("sqlite")
    made = submit(platform, reporter={"phone": "081255566677"})
    wait_for(lambda: fully_routed(platform, made["tracking_number"]), what="routed")
    agency = routing_of(platform, made["report_id"])["agency_id"]
    admin = platform.staff_token(auth.Role.administrator, "fuzz-admin")

    # 1. schemathesis, every service, as an administrator: no 5xx.
    summaries = {s: _schemathesis(platform, s, admin, tmp_path) for s in SERVICES}
    print("\nschemathesis:", summaries)

    # 2. The authorization matrix.
    ids = {
        "report_id": made["report_id"],
        "tracking_number": made["tracking_number"],
        "agency_id": agency,
    }
    callers: dict[str, str | None] = {
        "no one": None,
        **_forged_tokens(platform.auth_secret()),
        "other agency": platform.staff_token(auth.Role.agency_officer, "lain", "pemda-35.78"),
        "verifier": platform.staff_token(auth.Role.verifier, "fuzz-verifier"),
        "administrator": admin,
    }
    cells = 0
    for service in SERVICES:
        base = platform.url(service)
        spec = httpx.get(f"{base}/openapi.json").json()
        for path, methods in spec["paths"].items():
            if "{" not in path:
                continue
            url = base + re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "x" * 8), path)
            for method in methods:
                if method not in ("get", "post", "delete", "patch", "put"):
                    continue
                got: dict[str, int] = {}
                for who, token in callers.items():
                    headers = {"authorization": f"Bearer {token}"} if token else {}
                    kwargs: dict[str, Any] = (
                        {"json": {}} if method in ("post", "patch", "put") else {}
                    )
                    answer = httpx.request(method.upper(), url, headers=headers, **kwargs)
                    got[who] = answer.status_code
                    cells += 1
                    assert answer.status_code < 500, (service, method, path, who, answer.text[:300])
                where = (service, method.upper(), path, got)
                for bad in ("forged", "alg_none", "expired", "unknown_role"):
                    # A bad token is never better than none.
                    assert got[bad] >= 400 or got["no one"] < 400, where
                    if got["no one"] in (401, 403):
                        assert got[bad] in (401, 403), where
                if not PUBLIC.match(path):
                    assert got["no one"] in (401, 403, 404, 405, 422), where
                    if "{report_id}" in path and service in ("routing", "intake"):
                        # Another agency's officer reads nothing of this report.
                        assert got["other agency"] >= 400, where
    print(f"authorization matrix: {cells} cells, no 5xx")
    assert cells > 300
