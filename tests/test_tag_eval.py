"""Floors on the labelled real clauses of ../shared (development set, measured, not fitted).

ai-training and biometrics: precision >= 0.95 and recall >= 0.90; secondary tags: macro-F1 >= 0.80.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from helpers import shared_dir

ROOT = Path(__file__).resolve().parents[1]


def _eval_module():
    spec = importlib.util.spec_from_file_location("tags_eval", ROOT / "bench" / "tags_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def figures() -> dict:
    dev = shared_dir() / "corpus" / "clauses-dev.jsonl"
    if not dev.exists():
        pytest.skip("../shared/corpus/clauses-dev.jsonl not present")
    mod = _eval_module()
    return mod.evaluate(mod.load([dev]))


@pytest.mark.parametrize("tag", ["ai-training", "biometrics"])
def test_priority_tags_floor(figures: dict, tag: str) -> None:
    m = figures["per_tag"][tag]
    assert m["precision"] >= 0.95, (tag, m)
    assert m["recall"] >= 0.90, (tag, m)


def test_secondary_macro_f1_floor(figures: dict) -> None:
    assert figures["secondary_macro_f1"] >= 0.80, {t: round(m["f1"], 3) for t, m in figures["per_tag"].items()}


def test_polarity_accuracy_floor(figures: dict) -> None:
    assert figures["polarity_accuracy"] >= 0.90, figures["polarity_by_gold"]
