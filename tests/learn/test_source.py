import ast

import numpy as np

from dlf.learn.source import fill_bodies, free_names

STUB = '''"""A stub."""

import numpy as np


def double(x):
    """Twice x."""
    raise NotImplementedError


class Box:
    def area(self):
        """The area."""
        raise NotImplementedError
'''


def helper(v):
    return v


SCALE = 2


def double_reference(x):
    """The reference's own docstring is not copied."""
    y = np.asarray(x)
    return helper(y) * SCALE


def area_reference(self):
    return self.w * self.h


def test_bodies_come_from_the_reference_and_its_globals_are_imported():
    text = fill_bodies(STUB, {"double": double_reference, "Box.area": area_reference})
    tree = ast.parse(text)
    assert f"from {__name__} import SCALE" in text and f"from {__name__} import helper" in text
    assert '"""Twice x."""' in text and "reference's own docstring" not in text
    assert "raise NotImplementedError" not in text
    namespace: dict = {}
    exec(compile(tree, "solution", "exec"), namespace)
    assert namespace["double"](3) == 6
    box = namespace["Box"]()
    box.w, box.h = 2, 5
    assert box.area() == 10


def test_a_body_given_as_text_replaces_the_stub_body():
    text = fill_bodies(STUB, {"double": "return x + x\n"})
    namespace: dict = {}
    exec(text, namespace)
    assert namespace["double"](4) == 8


def test_free_names_are_globals_read_and_never_bound():
    fn = ast.parse("def f(x):\n    y = np.exp(x)\n    return helper(y) + len(x)\n").body[0]
    assert free_names(fn) == {"np", "helper"}
