"""Parses kept for the next job: found again for the same model file and questions only, and
only the newest kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.retraining import parse_cache

TEXTS = ["can I return it", "<script>alert(1)</script>", "zwrot towaru, ile dni?"]


def model_file(folder: Path, name: str = "amberline-000000000001.tar.gz") -> Path:
    model = folder / name
    model.write_bytes(b"a model")
    return model


def parses_file(folder: Path, marker: str) -> Path:
    path = folder / f"parses-{marker}.json"
    path.write_text(json.dumps([{"text": t, "by": marker} for t in TEXTS]))
    return path


def test_kept_parses_are_found_for_the_same_model_and_questions(tmp_path: Path) -> None:
    cache, model = tmp_path / "parses", model_file(tmp_path)
    target = tmp_path / "parses-current.json"
    assert not parse_cache.fetch(cache, model, TEXTS, target)  # nothing kept yet
    parse_cache.keep(cache, model, TEXTS, parses_file(tmp_path, "candidate"))
    moved = tmp_path / "models" / model.name  # installed: moved, its time kept
    moved.parent.mkdir()
    os.replace(model, moved)
    assert parse_cache.fetch(cache, moved, TEXTS, target)
    assert json.loads(target.read_text())[1] == {"text": TEXTS[1], "by": "candidate"}
    assert not parse_cache.fetch(cache, moved, TEXTS[:2], target)  # other questions


def test_a_model_trained_again_under_the_same_name_is_parsed_again(tmp_path: Path) -> None:
    cache, model = tmp_path / "parses", model_file(tmp_path)
    parse_cache.keep(cache, model, TEXTS, parses_file(tmp_path, "old"))
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert not parse_cache.fetch(cache, model, TEXTS, tmp_path / "out.json")


def test_only_the_newest_entries_are_kept(tmp_path: Path) -> None:
    cache = tmp_path / "parses"
    models = [model_file(tmp_path, f"amberline-{i:012d}.tar.gz") for i in range(8)]
    deleted = []
    for age, model in enumerate(models):
        deleted += parse_cache.keep(cache, model, TEXTS, parses_file(tmp_path, str(age)))
        entry = cache / parse_cache.key(model, TEXTS)
        os.utime(entry, (1_000_000 + age, 1_000_000 + age))
    assert len(list(cache.glob("*.json"))) == parse_cache.KEEP
    assert len(deleted) == len(models) - parse_cache.KEEP
    assert not parse_cache.fetch(cache, models[0], TEXTS, tmp_path / "out.json")
    assert parse_cache.fetch(cache, models[-1], TEXTS, tmp_path / "out.json")
    assert not list(cache.glob("*.tmp"))
