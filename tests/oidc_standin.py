"""A ministry's OpenID Connect provider, standing in for Keycloak and the like in tests.

It publishes a discovery document and its RSA key, and answers the authorization code
flow as a provider must: the authorization request must carry a PKCE S256 challenge, the
token request the verifier that matches it, and the ID token (RS256) carries the nonce the
client sent. Who signs in is whatever ``next_claims`` holds when the browser arrives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

from services.broker import free_port


class OidcStandIn:
    def __init__(self, client_id: str = "aduan") -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}/realms/pegawai"
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.next_claims: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.refused: list[str] = []
        # A token replayed from another sign-in carries another nonce.
        self.nonce_override: str | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> OidcStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                base = provider.issuer
                path = url.path.removeprefix("/realms/pegawai")
                if path == "/.well-known/openid-configuration":
                    self._json(
                        200,
                        {
                            "issuer": base,
                            "authorization_endpoint": f"{base}/auth",
                            "token_endpoint": f"{base}/token",
                            "jwks_uri": f"{base}/certs",
                            "code_challenge_methods_supported": ["S256"],
                        },
                    )
                elif path == "/certs":
                    self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                elif path == "/auth":
                    if (
                        query.get("client_id") != provider.client_id
                        or query.get("code_challenge_method") != "S256"
                        or not query.get("code_challenge")
                        or query.get("response_type") != "code"
                    ):
                        provider.refused.append("authorization request without PKCE")
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {**query, "claims": dict(provider.next_claims)}
                    back = f"{query['redirect_uri']}?" + urlencode(
                        {"code": code, "state": query["state"]}
                    )
                    self.send_response(302)
                    self.send_header("location", back)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                kept = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .rstrip(b"=")
                    .decode()
                )
                if kept is None or challenge != kept["code_challenge"]:
                    provider.refused.append("token request without the PKCE verifier")
                    self._json(400, {"error": "invalid_grant"})
                    return
                now = int(time.time())
                claims = {
                    "iss": provider.issuer,
                    "aud": provider.client_id,
                    "iat": now,
                    "exp": now + 300,
                    "nonce": provider.nonce_override or kept["nonce"],
                    **kept["claims"],
                }
                id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, provider.key)
                self._json(
                    200,
                    {
                        "access_token": secrets.token_urlsafe(16),
                        "token_type": "Bearer",
                        "expires_in": 300,
                        "id_token": id_token,
                    },
                )

        return Handler
