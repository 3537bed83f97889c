"""Settings read once from the environment, validated at start-up.

Every value has a default that works on a laptop (SQLite under ``var/``, localhost ports); an
operator changes them through environment variables (see the README). A bad value fails fast with
the variable's name. Secrets print as ``**********``.
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import List, Optional

from pydantic import BaseSettings, Field, SecretStr, validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
SUPPORTED_LANGUAGES = ("en", "lt", "lv", "pl")


class Settings(BaseSettings):
    """The assistant's configuration; field ``x`` is read from the variable ``BOT_X``."""

    database_url: str = Field(
        default=f"sqlite:///{VAR_DIR / 'amberline.db'}",
        description="SQLAlchemy URL of the knowledge base, orders and handoffs.",
    )
    tracker_database_url: Optional[str] = Field(
        default=None,
        description="SQLAlchemy URL of Rasa's tracker store; defaults to database_url.",
    )
    kb_dir: Path = PROJECT_ROOT / "data" / "kb"
    # The Rasa project the story editor reads and writes: domain.yml, config.yml, data/ (training
    # stories and rules) and tests/conversations/ (test stories), and models/ (what is trained).
    rasa_project_dir: Path = PROJECT_ROOT
    orders_file: Path = PROJECT_ROOT / "data" / "orders.yml"
    demo_users_file: Path = PROJECT_ROOT / "data" / "demo-users.yml"
    # The demo staff's password; unset: one generated once into var/demo-password.
    demo_password: Optional[SecretStr] = None
    default_language: str = "en"
    languages: List[str] = list(SUPPORTED_LANGUAGES)
    # How often the action server checks the database for changed articles (seconds).
    kb_refresh_seconds: float = 2.0
    # Above answer_threshold the bot answers; between suggest_threshold and it, it offers the
    # best candidates as buttons; below, it says it does not know. Unset: the values tuned on
    # eval/dev.yml (bot.kb.answering.Thresholds).
    answer_threshold: Optional[float] = None
    suggest_threshold: Optional[float] = None
    max_order_lookups: int = 3
    # How old the Rasa server's view of the conversations with an undelivered follow-up may be
    # (seconds): an agent's follow-up reaches a returning customer's first message after the
    # next look, at most this much later. 0: the database is asked at every message.
    follow_up_poll_seconds: float = Field(default=1.0, ge=0, le=60)
    max_message_chars: int = 2000
    rasa_url: str = "http://localhost:5005"
    rasa_token: Optional[SecretStr] = None
    # The web app (agent console, API; later the widget and editor).
    web_port: int = 8000
    # Signs the web app's session cookies; unset: one generated once into var/web-secret.
    web_secret: Optional[SecretStr] = None
    # Send session cookies over HTTPS only (set true behind TLS).
    cookie_secure: bool = False
    # Hours a console session lasts without activity.
    session_hours: float = 12.0
    # The customer's widget: where browsers reach Rasa's socket.io channel (unset: rasa_url),
    # and the sites (origins, comma-separated) allowed to call the customer's API from the
    # widget ("*": any).
    widget_socket_url: Optional[str] = None
    widget_origins: str = "*"
    # E-mail (tickets): the SMTP server; unset: no e-mail, and none is promised to customers.
    smtp_host: Optional[str] = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: Optional[str] = None
    smtp_password: Optional[SecretStr] = None
    mail_from: str = "support@amberline.example"
    mail_from_name: str = "Amberline customer service"
    # Where new tickets are announced to the team (unset: only in the agent console).
    team_inbox: Optional[str] = None
    # Outgoing webhook on handoff events (bot/handoff/webhooks.py); unset: none is sent.
    webhook_url: Optional[str] = None
    webhook_secret: Optional[SecretStr] = None
    webhook_max_attempts: int = 8
    # Live updates (bot/live/): how often each web process looks for new rows (seconds).
    live_poll_seconds: float = Field(default=0.5, gt=0, le=10)
    # Redis, for several web processes behind a load balancer: typing and its fan-out are shared
    # there. Unset: this process's memory (right for one web process).
    redis_url: Optional[SecretStr] = None
    # Prefix of every Redis key and channel (several deployments may share one Redis).
    redis_prefix: str = Field(default="amberline", regex=r"^[A-Za-z0-9_.-]{1,64}$")

    # Retraining from the editor (bot/retraining/): where models are kept and loaded from, the
    # training jobs' folders, the generated NLU file of the model that runs (what needs
    # retraining is compared with it), what training reads (the config, and the folder of
    # domain.yml and data/), the evaluation set and how much lower top-1 accuracy may be.
    models_dir: Path = PROJECT_ROOT / "models"
    training_dir: Path = VAR_DIR / "training"
    trained_nlu: Path = PROJECT_ROOT / "data" / "nlu" / "kb_questions.yml"
    training_config: Path = PROJECT_ROOT / "config.yml"
    training_eval_set: Path = PROJECT_ROOT / "eval" / "dev.yml"
    training_tolerance: float = Field(default=0.01, ge=0, le=1)

    class Config:
        env_prefix = "BOT_"
        case_sensitive = False

    @validator("database_url", "tracker_database_url")
    def _url_has_scheme(cls, value: Optional[str]) -> Optional[str]:  # noqa: N805
        if value is not None and "://" not in value:
            raise ValueError("must be an SQLAlchemy URL such as sqlite:///var/amberline.db")
        return value

    @validator("redis_url")
    def _redis_scheme(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:  # noqa: N805
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a Redis URL such as redis://localhost:6379/0")
        return value

    @validator("widget_origins")
    def _origins(cls, value: str) -> str:  # noqa: N805
        for origin in value.split(","):
            origin = origin.strip()
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError("comma-separated origins such as https://shop.example, or *")
        return value

    @validator("widget_socket_url")
    def _http_url(cls, value: Optional[str]) -> Optional[str]:  # noqa: N805
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address, e.g. https://chat.example")
        return value

    @validator("rasa_project_dir")
    def _rasa_project(cls, value: Path) -> Path:  # noqa: N805
        if not (Path(value) / "domain.yml").is_file():
            raise ValueError("must be a folder with the Rasa project's domain.yml")
        return Path(value)

    @validator("default_language")
    def _known_language(cls, value: str) -> str:  # noqa: N805
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @validator("answer_threshold", "suggest_threshold")
    def _in_unit_range(cls, value: Optional[float]) -> Optional[float]:  # noqa: N805
        if value is not None and not 0 <= value <= 1:
            raise ValueError("must be between 0 and 1")
        return value

    @validator("suggest_threshold")
    def _thresholds_ordered(cls, value: Optional[float], values: dict) -> Optional[float]:  # noqa: N805
        answer = values.get("answer_threshold")
        if value is not None and answer is not None and value > answer:
            raise ValueError("must not be above answer_threshold")
        return value

    @property
    def widget_origin_list(self) -> List[str]:
        """The sites allowed to call the customer's API, as CORS wants them."""
        return [o.strip().rstrip("/") for o in self.widget_origins.split(",") if o.strip()]

    @property
    def effective_tracker_url(self) -> str:
        """The tracker store's URL: its own setting, or the main database's."""
        return self.tracker_database_url or self.database_url


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Raises pydantic's ValidationError on a bad value."""
    return Settings()


def _secret(value: Optional[SecretStr], name: str, length: int) -> str:
    """``value`` if set, else a random secret generated once into ``var/<name>`` (mode 600)."""
    if value is not None:
        return value.get_secret_value()
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(length))
        path.chmod(0o600)
    return path.read_text().strip()


def rasa_token(settings: Settings) -> str:
    """The Rasa HTTP API token: BOT_RASA_TOKEN, or one generated once into ``var/``."""
    return _secret(settings.rasa_token, "rasa-token", 24)


def web_secret(settings: Settings) -> str:
    """The cookie-signing secret: BOT_WEB_SECRET, or one generated once into ``var/``."""
    return _secret(settings.web_secret, "web-secret", 32)


def demo_password(settings: Settings) -> str:
    """The demo staff's shared password: BOT_DEMO_PASSWORD, or one generated into ``var/``."""
    return _secret(settings.demo_password, "demo-password", 12)
