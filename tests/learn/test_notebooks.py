"""The workspace notebooks: valid nbformat, one section per exercise, and run in a real kernel.

The executed tests start a Jupyter kernel of this test's own Python (a kernel spec written into
a temporary folder, so no kernel installed on the machine is used) with the workspace as its
working folder, as Jupyter does for a notebook in the workspace root.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from dlf.learn import exercises
from dlf.learn.check import solve
from dlf.learn.notebook import NotebookGrade, grade, load, passes, workspace_root
from dlf.learn.notebooks import NOTEBOOK_MODULES, SECTIONS, notebook_name, notebooks
from dlf.learn.workspace import Workspace
from tests.conftest import data_available

GRADE_CELL = re.compile(r'^grade\("([a-z0-9-]+)"\)$')

# The data sets a module's plots read, from $DLF_DATA (its executed test skips without them).
DATA = {2: "mnist", 4: "tinyshakespeare"}


def _in_path_order(module: int) -> list[str]:
    return [e.name for e in sorted(exercises((module,)), key=lambda e: e.number)]


def _grade_cells(nb: dict) -> list[str]:
    names = []
    for cell in nb["cells"]:
        match = GRADE_CELL.match("".join(cell["source"]).strip())
        if cell["cell_type"] == "code" and match:
            names.append(match.group(1))
    return names


def test_the_notebooks_are_valid_nbformat_4_and_grade_every_exercise_of_their_module():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
    texts = notebooks()
    assert sorted(texts) == sorted(notebook_name(m) for m in NOTEBOOK_MODULES)
    for module in NOTEBOOK_MODULES:
        text = texts[notebook_name(module)]
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
        assert nb.nbformat == 4
        wanted = _in_path_order(module)
        assert _grade_cells(json.loads(text)) == wanted  # each once, in path order
        for e in exercises((module,)):
            assert e.filename in text
            assert f"## {e.number}. {e.title} (`{e.name}`)" in text


def test_every_exercise_has_a_section_and_each_plot_compiles():
    """A section per exercise (its equations), and the plot cells are Python (IPython's
    ``%matplotlib`` is in the setup cell only)."""
    for e in exercises(NOTEBOOK_MODULES):
        assert e.name in SECTIONS and SECTIONS[e.name].text.strip(), e.name
    for name, section in SECTIONS.items():
        if section.plot:
            assert section.plot_text.strip(), name
            assert section.plot.startswith(f'if passes("{name}")'), name
            compile(section.plot, name, "exec")


def test_init_writes_the_notebooks_and_never_replaces_one(tmp_path):
    ws = Workspace(tmp_path / "ws")
    written = ws.init()
    for module in NOTEBOOK_MODULES:
        assert ws.root / notebook_name(module) in written
    assert "1-foundations.ipynb" in (ws.root / "README.md").read_text(encoding="utf-8")
    mine = ws.root / notebook_name(1)
    mine.write_text("my own notes", encoding="utf-8")
    assert mine not in ws.init()
    assert mine.read_text(encoding="utf-8") == "my own notes"


def test_grade_load_and_passes_outside_a_notebook(tmp_path, monkeypatch, capsys):
    ws = Workspace(tmp_path)
    ws.init()
    inner = tmp_path / "1-foundations"
    monkeypatch.chdir(inner)  # the workspace is found from a folder inside it too
    assert workspace_root() == tmp_path
    got = grade("svm-loss")
    assert isinstance(got, NotebookGrade) and got.state == "not started"
    assert "· svm-loss: not started" in capsys.readouterr().out
    assert not passes("svm-loss")
    assert "skipped: svm-loss is not started" in capsys.readouterr().out
    assert not passes("svm-loss", quiet=True)
    assert capsys.readouterr().out == ""

    solve(ws, exercises((1,))[:1], force=True)
    got = grade("svm-loss", workspace=tmp_path)
    assert got.passed and "✓ svm-loss: passed" in capsys.readouterr().out
    assert "passed" in got._repr_html_()
    assert passes("svm-loss")
    assert callable(load("svm-loss").svm_loss)
    ws.path(exercises((1,))[0]).write_text("def svm_loss(:\n", encoding="utf-8")
    assert not passes("svm-loss")  # changed since: graded again
    failing = grade("svm-loss")
    assert failing.state == "failing" and "syntax error" in failing._repr_html_()
    monkeypatch.chdir(tmp_path.parent)
    with pytest.raises(FileNotFoundError, match="no dlf workspace"):
        workspace_root()


# --- executed in a real Jupyter kernel ---------------------------------------------------------


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel spec of this Python (``python -m ipykernel install --prefix`` into a temp dir)."""
    pytest.importorskip(
        "nbclient", reason="nbclient is not installed: pip install -e '.[notebook]'"
    )
    from ipykernel.kernelspec import install
    from jupyter_client.kernelspec import KernelSpecManager

    prefix = tmp_path_factory.mktemp("kernel")
    install(kernel_name="dlf-test", prefix=str(prefix))
    specs = KernelSpecManager(kernel_dirs=[str(prefix / "share" / "jupyter" / "kernels")])
    assert specs.get_kernel_spec("dlf-test").argv[0] == sys.executable
    return specs


def _execute(nb_path, kernel) -> dict:
    """Run every cell of the notebook at ``nb_path`` in its folder; a cell's error raises."""
    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    km = KernelManager(kernel_name="dlf-test", kernel_spec_manager=kernel)
    client = NotebookClient(
        nb,
        km=km,
        timeout=120,
        resources={"metadata": {"path": str(nb_path.parent)}},
    )
    client.execute()
    return nb


def _text(cell) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
        elif out["output_type"] == "error":
            parts.append("\n".join(out["traceback"]))
    return "".join(parts)


def _cells(nb) -> list[tuple[str, str, bool]]:
    """``(kind, text output, has an image)`` of each code cell: grade, plot or setup."""
    rows = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "".join(cell.source)
        kind = "grade" if GRADE_CELL.match(source.strip()) else "plot"
        if "%matplotlib" in source:
            kind = "setup"
        image = any("image/png" in out.get("data", {}) for out in cell.outputs)
        rows.append((kind, _text(cell), image))
    return rows


def _run_solved(tmp_path, kernel, module: int) -> list[tuple[str, str, bool]]:
    """Every exercise solved; the cells of the module's notebook, run: each grade passes, each
    plot draws (and says nothing was skipped)."""
    if module in DATA and not data_available(DATA[module]):
        pytest.skip(f"{DATA[module]} not in $DLF_DATA (Module {module}'s plots read it)")
    ws = Workspace(tmp_path)
    ws.init()
    solve(ws, exercises(), force=True)
    rows = _cells(_execute(ws.root / notebook_name(module), kernel))
    grades = [text for kind, text, _ in rows if kind == "grade"]
    assert len(grades) == len(exercises((module,)))
    for text in grades:
        assert re.match(r"✓ [a-z0-9-]+: passed", text), text
    plots = [(text, image) for kind, text, image in rows if kind == "plot"]
    assert plots and all(image and "skipped" not in text for text, image in plots), plots
    return rows


@pytest.mark.slow
def test_module_1_with_the_reference_solutions_passes_and_plots(tmp_path, kernel):
    _run_solved(tmp_path, kernel, 1)


@pytest.mark.slow
def test_module_2_with_the_reference_solutions_passes_and_plots(tmp_path, kernel):
    _run_solved(tmp_path, kernel, 2)


@pytest.mark.slow
def test_module_3_with_the_reference_solutions_passes_and_plots(tmp_path, kernel):
    rows = _run_solved(tmp_path, kernel, 3)
    printed = "".join(text for kind, text, _ in rows if kind == "plot")
    if "encoder-block" in _in_path_order(3):  # the traced data flow of the reference forward
        assert "h3 = x + h2" in printed and "h4 = norm_1(h3)" in printed, printed
        assert "changes its real positions by 0.0e+00" in printed, printed
    if "decoder-block" in _in_path_order(3):
        assert "cross_attn(h4, memory, memory, src_mask)" in printed, printed


@pytest.mark.slow
def test_module_4_with_the_reference_solutions_passes_and_plots(tmp_path, kernel):
    rows = _run_solved(tmp_path, kernel, 4)
    printed = "".join(text for kind, text, _ in rows if kind == "plot")
    if "gpt" in _in_path_order(4):  # GPT-2 small, counted by module
        assert "total 124,439,808" in printed and "is wte.weight: True" in printed, printed
    if "beam-search" in _in_path_order(4):
        assert "greedy:" in printed, printed


@pytest.mark.parametrize("module", NOTEBOOK_MODULES)
def test_with_the_untouched_stubs_every_cell_runs_and_says_not_started(tmp_path, kernel, module):
    Workspace(tmp_path).init()
    rows = _cells(_execute(tmp_path / notebook_name(module), kernel))
    grades = [text for kind, text, _ in rows if kind == "grade"]
    assert len(grades) == len(exercises((module,)))
    assert all(re.match(r"· [a-z0-9-]+: not started", text) for text in grades), grades
    plots = [text for kind, text, _ in rows if kind == "plot"]
    assert plots and all(text.startswith("(skipped: ") for text in plots), plots
