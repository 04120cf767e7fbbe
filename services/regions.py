"""Connected regional governments: what a region may see of the feed, and its tokens.

A **region** is a Kemendagri code: a province (``32``, its government ``pemprov-32``)
or a regency or city (``32.73``, ``pemda-32.73``). The feed (``region.feed``, and one
Kafka topic per province, ``<namespace>.region.<province>``) carries every change to a
report held by a regional government, as ``id.aduan.region.report_changed.v1``.

- A regency or city sees the reports its government is in charge of, in full.
- A province sees every report held by a government in the province; a confidential
  (Rahasia) report in full only where the province itself is in charge, else with its
  title, story and texts removed (the report is visible only to the agency concerned).
- Nobody sees a reporter's identity or contact: the feed never carries them.

Regions authenticate with client credentials (issued by notifications' gateway, stored
hashed): the token endpoint exchanges them for a short-lived signed token with the
audience ``aduan-region``, which no staff endpoint accepts, and no staff token opens a
region endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import HTTPException, Request

from services.auth import ALGORITHM, ISSUER, InvalidToken, claims_of
from services.settings import KitSettings

AUDIENCE = "aduan-region"
REGION = re.compile(r"^\d{2}(\.\d{2})?$")
REDACTED = "[Rahasia]"
REDACT_FIELDS = ("title", "story", "text")
REGIONAL_KINDS = frozenset({"pemprov", "pemkab", "pemkot"})


def government_of(region: str) -> str:
    """The directory id of a region's government."""
    return f"pemprov-{region}" if len(region) == 2 else f"pemda-{region}"


def region_of(agency_id: str) -> str | None:
    """The region a regional government's id names (``pemda-32.73`` -> ``32.73``)."""
    for prefix in ("pemprov-", "pemda-"):
        if agency_id.startswith(prefix):
            code = agency_id[len(prefix) :]
            return code if REGION.match(code) else None
    return None


def province_topic(kit: KitSettings, province: str) -> str:
    """The Kafka topic of one province's feed."""
    return f"{kit.aduan_namespace}.region.{province}"


def sees(region: str, data: dict[str, Any]) -> bool:
    """Whether a region may receive a feed event at all."""
    if len(region) == 2:
        return bool(data.get("province_code") == region)
    return bool(data.get("agency_id") == government_of(region))


def view(region: str, data: dict[str, Any]) -> dict[str, Any]:
    """A feed event's data as ``region`` may read it (confidential texts removed when
    the region is not the government in charge)."""
    if data.get("confidential") and data.get("agency_id") != government_of(region):
        return {
            **data,
            **{k: REDACTED for k in REDACT_FIELDS if data.get(k)},
            "attachments": [],
            "redacted": True,
        }
    return data


@dataclass(frozen=True)
class RegionClient:
    """The caller of a region endpoint, as its token says."""

    client_id: str
    region: str

    @property
    def government(self) -> str:
        return government_of(self.region)


def issue_token(
    secret: str, client_id: str, region: str, ttl: timedelta = timedelta(minutes=15)
) -> str:
    """A short-lived token for a region's client."""
    if not REGION.match(region):
        raise ValueError(f"not a region code: {region}")
    now = datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": client_id,
        "region": region,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> RegionClient:
    """The region client a token names, or :class:`InvalidToken`."""
    claims = claims_of(secret, token, AUDIENCE)
    region = str(claims.get("region", ""))
    if not REGION.match(region):
        raise InvalidToken("region")
    return RegionClient(client_id=str(claims["sub"]), region=region)


def require_region() -> Callable[[Request], RegionClient]:
    """FastAPI dependency: a valid region token (401 otherwise)."""

    def dependency(request: Request) -> RegionClient:
        secret = KitSettings().auth_secret_value()
        if not secret:
            raise HTTPException(503, "ADUAN_AUTH_SECRET is not configured")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                401, "Perlu token wilayah / region token required", {"WWW-Authenticate": "Bearer"}
            )
        try:
            return verify_token(secret, token.strip())
        except InvalidToken as exc:
            raise HTTPException(
                401, "Token tidak valid / invalid token", {"WWW-Authenticate": "Bearer"}
            ) from exc

    return dependency


def kafka_acls(namespace: str, provinces: list[str]) -> list[str]:
    """``kafka-acls.sh`` commands for a production cluster: each province's principal
    (``User:region-<code>``) may read its own topic with consumer groups named after it,
    and nothing else; routing's principal writes the region topics."""
    lines = [
        "#!/bin/sh",
        "# Generated by `aduan region-acls`: ACLs of the per-province feed topics.",
        "# Run against the cluster with admin credentials, e.g.",
        "#   BOOTSTRAP=kafka-1:9092 CONFIG=admin.properties sh deploy/kafka/region-acls.sh",
        "set -eu",
        'ACLS="kafka-acls.sh --bootstrap-server ${BOOTSTRAP:?} --command-config ${CONFIG:?}"',
        "# routing publishes every province's feed.",
        f"$ACLS --add --allow-principal User:aduan-routing --operation Write "
        f"--operation Describe --topic {namespace}.region. --resource-pattern-type prefixed",
    ]
    for code in provinces:
        topic = f"{namespace}.region.{code}"
        principal = f"User:region-{code}"
        lines.append(
            f"$ACLS --add --allow-principal {principal} --operation Read --operation Describe "
            f"--topic {topic} --resource-pattern-type literal"
        )
        lines.append(
            f"$ACLS --add --allow-principal {principal} --operation Read "
            f"--group region-{code}. --resource-pattern-type prefixed"
        )
    return lines
