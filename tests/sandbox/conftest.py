"""The sandbox, started on a free port for each test, spoken to only over HTTP."""

from dataclasses import dataclass

import pytest
import requests

from apps.sandbox.server import DEFAULT_CREDENTIALS, start_sandbox


@dataclass
class Sandbox:
    root: str  # http://127.0.0.1:PORT
    api: str  # http://127.0.0.1:PORT/ATServicesRest/V1.0
    headers: dict
    session: requests.Session

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.api + path, headers=self.headers, timeout=30, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.post(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def patch(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.patch(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def put(self, path: str, json=None, **kwargs) -> requests.Response:
        return self.session.put(
            self.api + path, json=json, headers=self.headers, timeout=30, **kwargs
        )

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.session.delete(self.api + path, headers=self.headers, timeout=30, **kwargs)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """The inspection API: admin("POST", "/faults", json={...})."""
        return self.session.request(method, f"{self.root}/_sandbox{path}", timeout=30, **kwargs)

    def insert(self, entity: str, items: list[dict]) -> list[int]:
        response = self.admin("POST", f"/records/{entity}", json={"items": items})
        response.raise_for_status()
        return response.json()["ids"]


@pytest.fixture
def sandbox_server():
    server = start_sandbox(port=0, seed="empty")
    yield server
    server.shutdown()


@pytest.fixture
def sandbox(sandbox_server):
    session = requests.Session()
    headers = {
        "UserName": DEFAULT_CREDENTIALS.username,
        "Secret": DEFAULT_CREDENTIALS.secret,
        "ApiIntegrationCode": DEFAULT_CREDENTIALS.integration_code,
    }
    yield Sandbox(
        root=sandbox_server.url,
        api=f"{sandbox_server.url}/ATServicesRest/V1.0",
        headers=headers,
        session=session,
    )
    session.close()
