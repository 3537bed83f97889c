"""What trained models make of a list of texts: ``python -m rasa_ext.parse_texts --texts t.json
--model a.tar.gz --out a.json [--model b.tar.gz --out b.json]``.

Each model is loaded with Rasa's ``Agent`` and parses every text as the server's ``/model/parse``
does (intent, ranking, entities, response selector); the parses are written as a JSON list in the
texts' order. Used by the retraining job (``bot/retraining/runner.py``) to evaluate the current
and the candidate model the same way, without a server. Prints ``parsed <n> <model>`` per model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence


async def parse_all(model: Path, texts: Sequence[str]) -> List[Dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_ext.parse_texts")
    parser.add_argument("--texts", type=Path, required=True, help="a JSON list of texts")
    parser.add_argument("--model", type=Path, action="append", required=True)
    parser.add_argument("--out", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    logging.basicConfig(level=logging.WARNING)
    configure_structlog(logging.WARNING)  # not a line per parse in the job's log
    if len(args.model) != len(args.out):
        parser.error("one --out per --model")
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    for model, out in zip(args.model, args.out, strict=False):
        parses = asyncio.run(parse_all(model, texts))
        out.write_text(json.dumps(parses, ensure_ascii=False, default=str), encoding="utf-8")
        print(f"parsed {len(parses)} {model.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
