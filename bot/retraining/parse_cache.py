"""What a model made of the evaluation set's questions, kept for the next job.

The model the Rasa server runs is, most of the time, the candidate of the job before, which
parsed the evaluation set then already: the next job reads those parses instead of loading the
model and parsing every question again (about 10 of 35 seconds here). A model is known by its
file's name, size and modification time (a model trained again under the same name is another
file), the questions by a digest of their texts. The newest ``KEEP`` entries are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import List, Sequence

logger = logging.getLogger(__name__)
KEEP = 6


def key(model: Path, texts: Sequence[str]) -> str:
    """The entry's file name for ``model``'s parses of ``texts``. Raises OSError when the model
    file cannot be read."""
    stat = model.stat()
    digest = hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8"))
    return f"{model.name}-{stat.st_size}-{stat.st_mtime_ns}-{digest.hexdigest()[:16]}.json"


def fetch(folder: Path, model: Path, texts: Sequence[str], target: Path) -> bool:
    """Copy the kept parses of ``texts`` by ``model`` to ``target``; whether there were any."""
    try:
        kept = folder / key(model, texts)
        if not kept.is_file():
            return False
        shutil.copyfile(kept, target)
    except OSError:
        logger.warning("kept parses of %s not readable: parsing again", model.name, exc_info=True)
        return False
    os.utime(kept)  # recently used: pruned last
    return True


def keep(folder: Path, model: Path, texts: Sequence[str], parses: Path) -> List[Path]:
    """Keep the ``parses`` file of ``texts`` by ``model`` (written whole or not at all), and
    delete all but the newest ``KEEP`` entries; returns the deleted."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / key(model, texts)
    temporary = target.with_name(target.name + ".tmp")
    shutil.copyfile(parses, temporary)
    os.replace(temporary, target)
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP:]:
        old.unlink(missing_ok=True)
    return entries[KEEP:]
