import ast
import subprocess
import sys

import numpy as np

from dlf.learn.source import Reference, calls_to_itself, fill_bodies, free_names

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


# --- calls_to_itself: where the learner hands the piece to dlf's own implementation ------------

LOSS_STUB = '''import numpy as np


def svm_loss(scores, y):
    """The stub."""
    raise NotImplementedError
'''


def _calls(learner: str, stub: str = LOSS_STUB, forbidden=None) -> list[str]:
    namespace: dict = {"__name__": "dlf_learner_test"}
    exec(learner, namespace)
    return calls_to_itself(learner, stub, namespace, forbidden)


def _loss_calling(imports: str, call: str) -> str:
    return f"{imports}\n\n\ndef svm_loss(scores, y):\n    return {call}(scores, y)\n"


def test_a_dotted_call_through_the_package_is_found():
    found = _calls(_loss_calling("import dlf.scratch.losses", "dlf.scratch.losses.svm_loss"))
    assert found == ["svm_loss calls dlf's dlf.scratch.losses.svm_loss (line 5)"]


def test_a_call_through_a_module_bound_in_the_learners_file_is_found():
    found = _calls(_loss_calling("from dlf.scratch import losses", "losses.svm_loss"))
    assert found == ["svm_loss calls dlf's dlf.scratch.losses.svm_loss (line 5)"]


def test_aliased_imports_are_found():
    module = _calls(_loss_calling("import dlf.scratch.losses as L", "L.svm_loss"))
    function = _calls(_loss_calling("from dlf.scratch.losses import svm_loss as hinge", "hinge"))
    assert module == function == ["svm_loss calls dlf's dlf.scratch.losses.svm_loss (line 5)"]


def test_own_code_and_other_libraries_are_not_flagged():
    own = _loss_calling("import numpy as np", "np.maximum")
    assert _calls(own) == []
    other = _loss_calling("import dlf.scratch.losses", "dlf.scratch.losses.softmax_cross_entropy")
    assert _calls(other) == []  # another piece of dlf: not this one


def test_forbidden_objects_of_another_name_are_found():
    learner = _loss_calling("from dlf.scratch import losses", "losses.l2_penalty")
    from dlf.scratch import losses

    found = _calls(learner, forbidden={"l2_penalty": losses.l2_penalty})
    assert found == ["svm_loss calls dlf's l2_penalty (line 5)"]


LAYER_STUB = '''from dlf.scratch import layers


class {cls}(layers.{base}):
    def __init__(self, *args):
        """The stub."""
        raise NotImplementedError

    def forward(self, x):
        """The stub."""
        raise NotImplementedError
'''


def _layer(cls: str, base: str, init: str, forward: str = "return x") -> str:
    return (
        f"from dlf.scratch import layers\n\n\nclass {cls}(layers.{base}):\n"
        f"    def __init__(self, *args):\n        {init}\n\n"
        f"    def forward(self, x):\n        {forward}\n"
    )


def test_super_init_that_sets_up_the_base_class_is_not_flagged():
    for cls, base, init in (
        ("ReLU", "ReLU", "super().__init__()"),  # dlf's class, no arguments: the set-up
        ("MyLinear", "Linear", "super().__init__(3, 4)"),  # another class's constructor
    ):
        learner = _layer(cls, base, init)
        assert _calls(learner, LAYER_STUB.format(cls=cls, base=base)) == [], (cls, init)


def test_super_init_that_runs_dlfs_constructor_of_the_same_class_is_found():
    learner = _layer("Linear", "Linear", "super().__init__(*args)")
    found = _calls(learner, LAYER_STUB.format(cls="Linear", base="Linear"))
    assert found == ["Linear.__init__ calls super().__init__ (line 6)"]
    learner = _layer("Linear", "Linear", "layers.Linear.__init__(self, *args)")
    found = _calls(learner, LAYER_STUB.format(cls="Linear", base="Linear"))
    assert found == ["Linear.__init__ calls dlf's dlf.scratch.layers.linear.__init__ (line 6)"]


def test_super_of_the_same_method_is_found():
    learner = _layer("ReLU", "ReLU", "super().__init__()", "return super().forward(x)")
    found = _calls(learner, LAYER_STUB.format(cls="ReLU", base="ReLU"))
    assert found == ["ReLU.forward calls super().forward (line 9)"]


# --- Reference: the project's source, read without importing it --------------------------------


def test_a_reference_reads_dlfs_files_without_importing_their_packages():
    code = (
        "import sys; from dlf.learn.source import Reference; "
        "text, _ = Reference('dlf.transformer.attention', 'causal_mask').source(); "
        "print('def causal_mask' in text, 'torch' in sys.modules, 'dlf.transformer' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "False"]


def test_a_reference_finds_packages_and_modules_outside_dlf():
    assert Reference("dlf.gpt", "GPT").path().name == "__init__.py"
    assert Reference("dlf.gpt.model", "GPT").path().name == "model.py"
    assert Reference("json.decoder", "JSONDecoder").path().name == "decoder.py"


def test_a_reference_gives_a_functions_body_without_its_docstring():
    body = Reference(__name__, "double_reference").body()
    assert body == "y = np.asarray(x)\nreturn helper(y) * SCALE\n"
