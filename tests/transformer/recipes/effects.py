"""What the recipe tests ask of a run's stated effects."""


def every_effect_shown(summary: dict) -> int:
    """Assert that the run stated effects and showed each (the failing ones in the message);
    returns how many there are."""
    effects = summary.get("effects", [])
    missing = [f"{e['claim']}: {e['figure']}" for e in effects if not e["shown"]]
    assert effects and not missing, missing
    assert summary["effects_shown"] == f"{len(effects)} of {len(effects)}"
    return len(effects)
