"""The catalog of exercises: listing them imports no torch; names, numbers and files agree."""

import subprocess
import sys

from dlf.learn import EXERCISES, exercises
from dlf.path.modules import MODULES, module


def test_listing_the_exercises_does_not_import_torch():
    code = "import sys; from dlf.learn import exercises; exercises(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_each_number_is_the_position_within_its_module():
    for number in sorted({e.module for e in exercises()}):
        numbers = [e.number for e in exercises((number,))]
        assert numbers == list(range(1, len(numbers) + 1)), (number, numbers)


def test_names_and_files_are_unique_and_names_match_the_catalog():
    everything = exercises()
    assert [e.name for e in everything] == list(EXERCISES)
    assert len({e.name for e in everything}) == len(everything)
    assert len({e.filename for e in everything}) == len(everything)


def test_each_concept_is_a_concept_of_the_path_in_the_exercises_module():
    assert {e.module for e in exercises()} <= {m.number for m in MODULES}
    unknown = {
        e.name: e.concept
        for e in exercises()
        if e.concept not in {c.name for c in module(e.module).concepts}
    }
    assert not unknown, unknown
