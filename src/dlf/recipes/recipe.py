"""What a recipe is: a named experiment with a typed config, quick and full settings, and a run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlf.recipes.config import ConfigError, apply_overrides, check_ranges
from dlf.runs import RunDir


@dataclass(frozen=True)
class Recipe:
    """A runnable experiment of the path.

    ``config`` is a dataclass whose defaults are the full setting; ``quick`` overrides them for
    the quick setting used by the tests and ``dlf path --quick``. ``run(config, run_dir)``
    returns the summary (final figures). ``datasets(config)`` names the data sets the run needs,
    so they are found (or the run refused) before any folder is made; ``preflight(config)``, if
    given, checks the rest of the input (paths, files, fields that must agree) then, raising a
    ``dlf.data.DataError`` or a ConfigError. ``settings`` are named override sets of the full
    setting (``dlf run NAME --setting KEY``), each named for what it does. Wall times and
    figures are not written here: ``dlf measure`` records them in the data file of
    :mod:`dlf.bench.measured`. ``resume_keeps``: the fields a run resumed with ``dlf run NAME
    --resume RUN_DIR`` must share with the run it continues (those that change the model or
    its data); empty: the recipe cannot resume.
    """

    name: str
    module: int
    description: str
    config: type
    run: Callable[[Any, RunDir], dict[str, Any]]
    quick: dict[str, Any] = field(default_factory=dict)
    datasets: Callable[[Any], tuple[str, ...]] = lambda config: ()
    preflight: Callable[[Any], None] | None = None
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    resume_keeps: tuple[str, ...] = ()

    def make_config(
        self,
        quick: bool = False,
        overrides: dict[str, Any] | None = None,
        setting: str | None = None,
    ) -> Any:
        """The full config, then the quick setting or the named ``setting``, then ``overrides``.

        Every field is then checked against its declared range (ConfigError if outside).
        """
        if quick and setting:
            raise ConfigError("give --quick or --setting, not both")
        if setting and setting not in self.settings:
            named = ", ".join(self.settings) or "none"
            raise ConfigError(
                f"{self.name} has no setting {setting!r}; its settings: {named} (see dlf list)"
            )
        config = self.config()
        if quick:
            config = apply_overrides(config, self.quick)
        if setting:
            config = apply_overrides(config, self.settings[setting])
        config = apply_overrides(config, overrides or {})
        check_ranges(config)
        return config
