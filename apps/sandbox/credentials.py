"""The built-in sandbox's demo credentials, in a module of their own.

Constants only, no imports from the sandbox: the sandbox's server checks requests against
them, and the product's `connection_create_sandbox()` (the `connection create --sandbox`
command, the connection screen) fills a sandbox connection with them, without the
product importing the server.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    """What Autotask asks of every request: API user name, secret and integration code."""

    username: str
    secret: str
    integration_code: str


DEFAULT_CREDENTIALS = Credentials(
    username="api-user@sandbox.syncadmin.local",
    secret="sandbox-secret",  # noqa: S106 - the sandbox's documented demo credential
    integration_code="SYNCADMIN-SANDBOX-000000001",
)
