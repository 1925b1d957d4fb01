"""Environment → settings, read at call time.

Every table, queue and bucket is named here once, by its logical name. Its physical name is
`{prefix}-{logical}`, where the prefix is the CloudFormation stack name in AWS (set by `infra/`)
and `colony-{stage}` elsewhere, so `infra/`, the embedded stack and the code always agree.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

STAGES = ("local", "test", "dev", "prod")

TABLES = (
    "companies",
    "users",
    "api-keys",
    "sessions",
    "idempotency-keys",
    "password-links",
    "counters",
    "uniques",
    "contact-lists",
    "contacts",
    "imports",
    "files",
    "tasks",
    "optouts",
    "suppressions",
    "campaigns",
    "deployments",
    "recipients",
    "messages",
    "bulks",
    "inbound",
    "stats",
    "saved-queries",
    "callbacks",
    "audit",
    "erasures",
)
QUEUES = ("imports", "tasks", "send", "callbacks")
TOPICS = ("sms-inbound", "sms-events", "email-events")
BUCKET = "files"
DEFAULT_REGION = "af-south-1"
_DEFAULT_PROVIDERS = {
    "local": "outbox",
    "test": "fake",
    "dev": "end-user-messaging",
    "prod": "end-user-messaging",
}
_DEFAULT_EMAIL_PROVIDERS = {"local": "outbox", "test": "fake", "dev": "ses", "prod": "ses"}
# The send worker's reserved concurrency in infra/ (workers share a sender's rate through its timeline).
SEND_CONCURRENCY = 4
LOCAL_CREDENTIALS = ("local", "local")
LOCAL_CURSOR_KEY = "colony-local-cursor-key"
LOCAL_ERASURE_KEY = "colony-local-erasure-key"


class SettingsError(Exception):
    """The environment does not describe a usable stage."""


@dataclass(frozen=True)
class Settings:
    stage: str
    prefix: str
    region: str
    aws_endpoint_url: str | None
    max_body_bytes: int
    import_rows_per_invocation: int | None
    provider: str
    outbox_path: str
    email_provider: str
    mail_dir: str
    email_outbox_path: str
    public_url: str  # where the public routes (an email's unsubscribe link) are reached
    system_email: str  # the address invites and password resets are sent from ("" sends none)
    cursor_key: str  # signs list cursors (COLONY_CURSOR_KEY; a fixed one on this machine's stages)
    erasure_key: str = ""  # keys the hash an erased person is replaced by (COLONY_ERASURE_KEY)
    callback_timeout_seconds: float = 5.0  # how long a customer's endpoint may take to answer
    callback_retry_base_seconds: int = 30  # the first back-off of a failed callback; it doubles
    request_limit: int = 3000  # the authenticated calls a company may make in one window
    request_window_seconds: int = 60

    @property
    def is_local(self) -> bool:
        return self.stage in ("local", "test")

    @property
    def credentials(self) -> tuple[str, str] | None:
        """Fixed credentials for the embedded AWS; None means the normal AWS chain."""
        return LOCAL_CREDENTIALS if self.aws_endpoint_url else None

    def table(self, name: str) -> str:
        assert name in TABLES, f"unknown table {name!r}"
        return f"{self.prefix}-{name}"

    def queue(self, name: str) -> str:
        assert name in QUEUES, f"unknown queue {name!r}"
        return f"{self.prefix}-{name}"

    def topic(self, name: str) -> str:
        assert name in TOPICS, f"unknown topic {name!r}"
        return f"{self.prefix}-{name}"

    def app_url(self, fragment: str = "") -> str:
        """The web app's address (served by the API itself), with a `#/…` route of its own."""
        return f"{self.public_url}/app/{fragment}"

    def dead_letter_queue(self, name: str) -> str:
        return f"{self.queue(name)}-dlq"

    @property
    def email_configuration_set(self) -> str:
        """The SES configuration set every email is sent with (its events reach Colony)."""
        return f"{self.prefix}-email"

    @property
    def bucket(self) -> str:
        return f"{self.prefix}-{BUCKET}"


def get_settings() -> Settings:
    """Build the settings from the environment as it is now (cheap; nothing is cached)."""
    env = os.environ
    stage = env.get("COLONY_STAGE", "local")
    if stage not in STAGES:
        raise SettingsError(f"COLONY_STAGE must be one of {', '.join(STAGES)}, not {stage!r}")
    endpoint = env.get("COLONY_AWS_ENDPOINT_URL") or None
    if endpoint is None and stage == "local":
        endpoint = f"http://127.0.0.1:{local_port(env, 'MOTO_PORT', '5000')}"
    return Settings(
        stage=stage,
        prefix=env.get("COLONY_PREFIX") or f"colony-{stage}",
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
        aws_endpoint_url=endpoint,
        max_body_bytes=int(env.get("COLONY_MAX_BODY_BYTES", 1_048_576)),
        import_rows_per_invocation=int(env["COLONY_IMPORT_ROWS_PER_INVOCATION"])
        if env.get("COLONY_IMPORT_ROWS_PER_INVOCATION")
        else None,
        provider=env.get("COLONY_PROVIDER") or _DEFAULT_PROVIDERS[stage],
        outbox_path=env.get("COLONY_OUTBOX") or str(PROJECT_DIR / ".local" / "outbox.jsonl"),
        email_provider=env.get("COLONY_EMAIL_PROVIDER") or _DEFAULT_EMAIL_PROVIDERS[stage],
        mail_dir=env.get("COLONY_MAIL_DIR") or str(PROJECT_DIR / ".local" / "mail"),
        email_outbox_path=env.get("COLONY_EMAIL_OUTBOX")
        or str(PROJECT_DIR / ".local" / "outbox-email.jsonl"),
        public_url=_public_url(env, stage),
        system_email=env.get("COLONY_SYSTEM_EMAIL", "colony@localhost" if stage in ("local", "test") else ""),
        cursor_key=env.get("COLONY_CURSOR_KEY") or (LOCAL_CURSOR_KEY if stage in ("local", "test") else ""),
        erasure_key=env.get("COLONY_ERASURE_KEY")
        or (LOCAL_ERASURE_KEY if stage in ("local", "test") else ""),
        callback_timeout_seconds=float(env.get("COLONY_CALLBACK_TIMEOUT_SECONDS", 5)),
        callback_retry_base_seconds=int(env.get("COLONY_CALLBACK_RETRY_BASE_SECONDS", 30)),
        request_limit=int(env.get("COLONY_REQUEST_LIMIT", 3000)),
        request_window_seconds=int(env.get("COLONY_REQUEST_WINDOW_SECONDS", 60)),
    )


def _public_url(env: os._Environ[str] | dict[str, str], stage: str) -> str:
    """COLONY_PUBLIC_URL; on one machine, the local API. A deployed stage without one has none."""
    local = f"http://127.0.0.1:{local_port(env, 'PORT', '8000')}" if stage in ("local", "test") else ""
    return (env.get("COLONY_PUBLIC_URL") or local).rstrip("/")


def ports_file(env: os._Environ[str] | dict[str, str]) -> Path:
    """Where `make run` writes the ports it serves on, for the CLI and scripts started without them."""
    return Path(env.get("COLONY_PORTS_FILE") or PROJECT_DIR / ".local" / "ports.json")


def moto_log_file(env: os._Environ[str] | dict[str, str]) -> Path:
    """Where `make run`'s embedded AWS writes its log (one file per stack: its last line says what it did)."""
    return Path(env.get("COLONY_MOTO_LOG") or PROJECT_DIR / ".local" / "moto.log")


def state_dir(env: os._Environ[str] | dict[str, str]) -> Path:
    """Where `make run` keeps the embedded AWS's state between runs."""
    return Path(env.get("COLONY_STATE_DIR") or PROJECT_DIR / ".local" / "state")


def local_port(env: os._Environ[str] | dict[str, str], name: str, default: str) -> str:
    """A port of the local stack: from the environment, else from the running `make run`, else `default`."""
    if env.get(name):
        return env[name]
    try:
        return str(json.loads(ports_file(env).read_text())[name])
    except (OSError, ValueError, KeyError, TypeError):
        return default


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables `.chalice/config.json` gives a stage, as `chalice local` applies them."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        raise SettingsError(f"no stage {stage!r} in .chalice/config.json")
    variables = dict(config.get("environment_variables", {}))
    variables.update(config["stages"][stage].get("environment_variables", {}))
    return variables


def use_stage(stage: str) -> None:
    """Apply a stage's environment to this process, as Chalice does for its functions."""
    os.environ["COLONY_STAGE"] = stage
    for name, value in stage_environment(stage).items():
        os.environ.setdefault(name, value)
