"""The action server's entry point: rasa_sdk's, after warming up the knowledge index.

Building the index (sentence embeddings of every question variant) takes seconds the first time;
done here, before the server answers ``/health``, no customer waits for it. Then what start-up
left (about 130,000 objects: libraries, the index) is moved out of the garbage collector's sight
(``gc.freeze``): a full collection walked them all, 65 ms during which no action ran. Same
options as ``python -m rasa_sdk``.
"""

from __future__ import annotations

import gc
import logging
import time

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Build the default language's index now. A failure is logged: the first question retries."""
    from actions.common import live_index
    from bot.settings import get_settings

    start = time.perf_counter()
    try:
        index = live_index().index(get_settings().default_language)
    except Exception:  # the database may be down; actions report that to the customer
        logger.exception("knowledge index not built at start-up")
        return
    logger.info(
        "knowledge index ready: %d articles in %.1f s", len(index), time.perf_counter() - start
    )


def main() -> None:
    args = create_argument_parser().parse_args()
    warm_up()
    gc.collect()
    gc.freeze()
    main_from_args(args)


if __name__ == "__main__":
    main()
