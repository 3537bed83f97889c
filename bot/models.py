"""Imports every table so that ``Base.metadata`` knows the whole schema."""

from bot.handoff.models import (  # noqa: F401
    FollowUp,
    Handoff,
    HandoffEvent,
    HandoffNote,
    Survey,
    WebhookDelivery,
    WrongAnswerReport,
)
from bot.kb.models import (  # noqa: F401
    Article,
    ArticleQuestion,
    ArticleRating,
    ArticleSync,
    ArticleVersion,
    InboxAction,
    InboxHandled,
)
from bot.orders.models import Order  # noqa: F401
from bot.retraining.models import TrainingJob  # noqa: F401
from bot.users import User  # noqa: F401
