"""The workspace notebooks: one per path module, graded by dlf (CS231n's assignment notebooks).

``dlf learn init`` writes ``1-foundations.ipynb``, ``2-convnets.ipynb``, ``3-attention.ipynb``
and ``4-language-models.ipynb`` into the workspace root. Per exercise, in path order: what to
write (the equation and the file), a cell that grades it (:func:`dlf.learn.notebook.grade`), and
where it teaches something a plot drawn from the learner's own code
(:func:`dlf.learn.notebook.load`), run only once the exercise passes.

The notebooks are plain JSON in nbformat 4.5, written with :mod:`json`: writing them needs no
Jupyter; running them needs a Jupyter kernel in the Python where ``dlf`` is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dlf.learn.catalog import exercises
from dlf.learn.exercise import MODULE_FOLDERS

NOTEBOOK_MODULES = (1, 2, 3, 4)


def notebook_name(module: int) -> str:
    """``1-foundations.ipynb``: the notebook of a path module, in the workspace root."""
    return f"{MODULE_FOLDERS[module]}.ipynb"


@dataclass(frozen=True)
class Section:
    """What a notebook says about one exercise: ``text`` (markdown: the equations), and
    optionally a plot: ``plot_text`` (markdown: what it shows) and ``plot`` (the code)."""

    text: str
    plot_text: str = ""
    plot: str = ""


SETUP = """\
import matplotlib.pyplot as plt
import numpy as np

from dlf.learn.notebook import digits, grade, load, passes, workspace_root
from dlf.runs import attention_heatmap  # the heat map of dlf's reports: tokens, colour bar

# plots in the notebook (after importing dlf, whose reports draw off-screen)
%matplotlib inline
plt.rcParams["figure.dpi"] = 90
print("Grading the workspace", workspace_root())
"""

INTRO = """\
# Module {number}: {title}

This notebook walks through the exercises of Module {number}, in order. For each one:

1. write the code in the file named (a plain `.py` file of this workspace, in any editor);
2. run the cell `grade("...")` under it: dlf grades your file in a separate process, exactly as
   `dlf learn check` does, and shows each failing check with the input, the error and, where it
   recognises it, the likely mistake;
3. once it passes, the cell after draws a plot **with your own code**, loaded with `load("...")`.

Run the cells from the top (the first one imports the helpers). The kernel must be the Python
where `dlf` is installed; the workspace is this notebook's folder (`workspace="DIR"` in `grade`,
`load` and `passes` says otherwise). `dlf learn hint NAME` gives a hint, one at a time.
"""

OUTRO = """\
## Done?

`dlf learn list` shows the state of every exercise, `dlf learn report` writes an HTML page of
your progress. {train}
"""

TRAIN = {
    1: "With your own layers, loss and optimizer, train the MLP on MNIST: "
    "`dlf run mnist-mlp --quick workspace=.`",
    2: "With your own CNN, train on MNIST: `dlf run cnn-mnist --quick workspace=.`",
    3: "The RNN's vanishing gradient and attention's direct paths, measured on dlf's own models "
    "(RNN, LSTM, LSTM with attention, and a transformer of dlf's encoder and decoder layers): "
    "`dlf run rnn-vs-transformer --quick`",
    4: "With your own attention and block, train a character-level GPT on Tiny Shakespeare and "
    "sample from it: `dlf run gpt-shakespeare-char --quick workspace=.`",
}

# The encoder and decoder cells trace the learner's forward: each call of a sub-module (hooks)
# and each tensor operation between them (a TorchFunctionMode), named h1, h2, ... in order.
DATA_FLOW = """\
if passes("{name}"):
    import torch
    from torch.overrides import TorchFunctionMode

    torch.set_num_threads(1)
    OPERATORS = {{"__add__": " + ", "__radd__": " + ", "add": " + ", "__mul__": " * "}}

    def data_flow(layer, inputs, submodules):
        \"""Run layer(**inputs), printing its sub-module calls and the operations between.\"""
        names, kept, lines, depth = {{}}, [], [], [0]

        def record(text, out):
            names[id(out)] = f"h{{len(lines) + 1}}"
            kept.append(out)  # alive: no other tensor takes its id
            lines.append(f"  {{names[id(out)]:>3}} = {{text:<42}} # {{tuple(out.shape)}}")

        def label(a):
            return names.get(id(a), "?") if torch.is_tensor(a) else repr(a)

        class Trace(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {{}}))
                if depth[0] == 0 and torch.is_tensor(out) and any(map(torch.is_tensor, args)):
                    op = OPERATORS.get(func.__name__)
                    text = [label(a) for a in args]
                    record(op.join(text) if op else f"{{func.__name__}}({{', '.join(text)}})", out)
                return out

        def enter(module, args, kwargs):
            depth[0] += 1

        def leave(module, args, kwargs, out, name):
            depth[0] -= 1
            text = ", ".join(label(a) for a in (*args, *kwargs.values()) if torch.is_tensor(a))
            record(f"{{name}}({{text}})", out[0] if isinstance(out, tuple) else out)

        hooks = []
        for name in submodules:
            module = getattr(layer, name)
            hooks.append(module.register_forward_pre_hook(enter, with_kwargs=True))
            hooks.append(module.register_forward_hook(
                lambda m, a, k, out, name=name: leave(m, a, k, out, name), with_kwargs=True))
        names.update((id(t), n) for n, t in inputs.items())
        with torch.no_grad(), Trace():
            y = layer(**inputs)
        for hook in hooks:
            hook.remove()
        print("\\n".join(lines) + f"\\n    y = {{label(y)}}")
        return y

"""


SECTIONS: dict[str, Section] = {
    "svm-loss": Section(
        text=r"""For the scores $s = x W$ of sample $i$ with true class $y_i$, every wrong class
$j$ whose score comes within a margin of 1 of the true one costs its margin
$m_{ij} = s_{ij} - s_{iy_i} + 1$:

$$L = \frac{1}{N}\sum_i \sum_{j \ne y_i} \max(0,\ m_{ij}) \;+\; \frac{\lambda}{2}\sum W^2$$

$$\frac{\partial L}{\partial s_{ij}} = \frac{[m_{ij} > 0]}{N}\ (j \ne y_i), \qquad
\frac{\partial L}{\partial s_{iy_i}} = -\frac{\#\{j: m_{ij} > 0\}}{N}$$

Write `svm_loss_naive(W, X, y, reg)` with loops, then `svm_loss(scores, y)` with none.""",
        plot_text=r"""**Your SVM loss as the true class's score varies** (one sample, 3 classes,
the other scores fixed at 1 and -0.5): a hinge, zero once the true score beats every other one
by the margin; its slope counts the classes still inside the margin.""",
        plot="""\
if passes("svm-loss"):
    svm = load("svm-loss")
    s = np.linspace(-3, 4, 281)
    y = np.array([0])
    results = [svm.svm_loss(np.array([[v, 1.0, -0.5]]), y) for v in s]
    loss = [float(r[0]) for r in results]
    slope = [float(r[1][0, 0]) for r in results]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(s, loss, label="your svm_loss: L")
    ax.plot(s, slope, "--", label="your dL/ds_y")
    for v in (0.5, 2.0):
        ax.axvline(v, color="grey", lw=0.6)
    ax.set_xlabel("score of the true class s_y (others: 1.0 and -0.5)")
    ax.legend()
    plt.show()
""",
    ),
    "softmax-loss": Section(
        text=r"""Softmax turns the scores (logits) $z_i$ of sample $i$ into probabilities;
the loss is the mean negative log-probability of the true class:

$$\log p_{ij} = z_{ij} - \max_k z_{ik} - \log \sum_k e^{z_{ik} - \max_k z_{ik}}, \qquad
L = -\frac{1}{N}\sum_i \log p_{i y_i}, \qquad
\frac{\partial L}{\partial z_{ij}} = \frac{p_{ij} - [j = y_i]}{N}$$

Write `softmax_cross_entropy(logits, y)` vectorised; subtracting each row's maximum keeps
`exp` from overflowing (logits of 1000 must give a finite loss).""",
        plot_text=r"""**Your softmax loss next to your SVM loss**, on the same sample: the hinge
is satisfied once the margin is met, softmax always wants a larger true score (its loss only
tends to 0). On the right, your loss stays finite for logits in the thousands.""",
        plot="""\
if passes("softmax-loss"):
    soft = load("softmax-loss")
    s = np.linspace(-3, 4, 281)
    y = np.array([0])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    results = [soft.softmax_cross_entropy(np.array([[v, 1.0, -0.5]]), y) for v in s]
    ax.plot(s, [float(r[0]) for r in results], label="your softmax: L")
    ax.plot(s, [float(r[1][0, 0]) for r in results], "--", label="your dL/dz_y")
    if passes("svm-loss", quiet=True):
        svm = load("svm-loss")
        svm_losses = [float(svm.svm_loss(np.array([[v, 1.0, -0.5]]), y)[0]) for v in s]
        ax.plot(s, svm_losses, ":", label="your SVM loss")
    ax.set_xlabel("score of the true class (others: 1.0 and -0.5)")
    ax.legend()
    big = np.linspace(-2000, 2000, 201)
    huge = [float(soft.softmax_cross_entropy(np.array([[v, 1000.0, -500.0]]), y)[0]) for v in big]
    ax2.plot(big, huge)
    ax2.set_xlabel("true score, others 1000 and -500")
    ax2.set_title("finite for huge logits")
    plt.show()
""",
    ),
    "knn-distances": Section(
        text=r"""All the squared distances between the rows of $A$ (test points) and $B$
(training points) at once, from one matrix product:

$$D_{ij} = \lVert a_i - b_j \rVert^2 = \lVert a_i\rVert^2 - 2\, a_i \cdot b_j + \lVert b_j\rVert^2$$

then the majority vote among the labels of the $k$ nearest training points (ties go to the
smallest label). Write `pairwise_sq_distances(A, B)` with no loop and
`majority_vote(neighbour_labels, n_classes)`.""",
        plot_text=r"""**Your distances and your vote, on the 3-class spirals.** Left: the distance
of each point to every other, sorted by class (each class's arm is one dark block on the
diagonal, but neighbouring arms are close too). Right: what your k-NN (k = 5) predicts on a grid,
with the training points on top.""",
        plot="""\
if passes("knn-distances"):
    from dlf.data.toy import spirals

    knn = load("knn-distances")
    X, y = spirals(60, 3, noise=0.2, seed=0)
    D = knn.pairwise_sq_distances(X, X)
    g = np.linspace(-1.1, 1.1, 150)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    nearest = np.argsort(knn.pairwise_sq_distances(grid, X), axis=1)[:, :5]
    pred = knn.majority_vote(y[nearest], 3)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    im = ax.imshow(D, cmap="viridis")
    ax.set_title("your pairwise_sq_distances(X, X)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax2.contourf(g, g, np.asarray(pred).reshape(150, 150), levels=[-0.5, 0.5, 1.5, 2.5],
                 cmap="Pastel1", alpha=0.8)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="Set1", s=12, edgecolor="k", linewidth=0.3)
    ax2.set_title("your 5-NN classifier")
    ax2.set_aspect("equal")
    plt.show()
""",
    ),
    "perceptron": Section(
        text=r"""One weight vector per class; predict the class of highest score, and learn
from mistakes only: for each misclassified $x_i$ (prediction $\hat y_i \ne y_i$),

$$W_{:, y_i} \mathrel{+}= \eta\, x_i,\quad b_{y_i} \mathrel{+}= \eta, \qquad
W_{:, \hat y_i} \mathrel{-}= \eta\, x_i,\quad b_{\hat y_i} \mathrel{-}= \eta$$

Write `perceptron_step(W, b, X, y, lr)`: one mini-batch, in place, returning the number of
mistakes.""",
        plot_text=r"""**Your perceptron rule trained on three 2-D blobs** (10 epochs of
mini-batches of 10, from zero weights): the mistakes per epoch, and the regions the learned
$W, b$ assign to each class.""",
        plot="""\
if passes("perceptron"):
    perc = load("perceptron")
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    y = rng.integers(0, 3, 300)
    X = centres[y] + 0.8 * rng.standard_normal((300, 2))
    W, b = np.zeros((2, 3)), np.zeros(3)
    mistakes = []
    for epoch in range(10):
        batches = rng.permutation(300).reshape(-1, 10)
        mistakes.append(sum(int(perc.perceptron_step(W, b, X[i], y[i], 1.0)) for i in batches))
    g = np.linspace(-4, 4, 200)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    regions = np.argmax(grid @ W + b, axis=1).reshape(200, 200)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax.plot(range(1, 11), mistakes, "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mistakes (of 300)")
    ax2.contourf(g, g, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.8)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="Set1", s=10, edgecolor="k", linewidth=0.3)
    ax2.set_aspect("equal")
    ax2.set_title("your perceptron's classes")
    plt.show()
""",
    ),
    "linear-layer": Section(
        text=r"""The affine layer $y = xW + b$, and its backward pass given
$\text{dout} = \partial L / \partial y$ (rows flattened: $x_2$ is $M \times D_\text{in}$):

$$\frac{\partial L}{\partial W} = x_2^\top\, \text{dout}_2, \qquad
\frac{\partial L}{\partial b} = \sum_\text{rows} \text{dout}_2, \qquad
\frac{\partial L}{\partial x} = \text{dout}\; W^\top$$

Write `Linear.forward` and `Linear.backward` (writing into `self.grads["W"][...]`: the
optimizer holds those very arrays). Your class trains the MNIST MLP of
`dlf run mnist-mlp workspace=.`, with your activations, loss and optimizer."""
    ),
    "activations": Section(
        text=r"""The non-linearities between layers, element-wise:

$$\text{ReLU}(x) = \max(0, x),\quad \text{ReLU}'(x) = [x > 0]; \qquad
\sigma(x) = \frac{1}{1 + e^{-x}},\quad \sigma'(x) = \sigma(x)\,(1 - \sigma(x))$$

Write `ReLU.forward/backward` and `Sigmoid.forward/backward` (the sigmoid without overflow for
$x = \pm 1000$).""",
        plot_text=r"""**Your activations and their derivatives** (your `backward` of a gradient of
ones): the sigmoid's derivative is at most 1/4 and vanishes for large $|x|$, which is why deep
sigmoid networks learn slowly; ReLU passes the gradient unchanged wherever $x > 0$.""",
        plot="""\
if passes("activations"):
    act = load("activations")
    x = np.linspace(-6, 6, 241)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, layer in zip(axes, (act.ReLU(), act.Sigmoid())):
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
        ax.plot(x, y, label="forward")
        ax.plot(x, dx, "--", label="backward of ones (derivative)")
        ax.set_title(f"your {type(layer).__name__}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.legend()
    plt.show()
""",
    ),
    "two-layer-net": Section(
        text=r"""A whole network by hand: affine, ReLU, affine, softmax loss, L2 on the
weights, and the chain rule back down:

$$h = \max(0, XW_1 + b_1), \quad s = hW_2 + b_2, \quad
L = -\frac{1}{N}\sum_i \log \operatorname{softmax}(s_i)_{y_i}
+ \frac{\lambda}{2}\left(\lVert W_1\rVert^2 + \lVert W_2\rVert^2\right)$$

$$\partial s = \frac{\operatorname{softmax}(s) - \operatorname{onehot}(y)}{N}, \quad
\partial W_2 = h^\top \partial s + \lambda W_2, \quad
\partial h_\text{pre} = (\partial s\, W_2^\top) \odot [XW_1 + b_1 > 0], \quad
\partial W_1 = X^\top \partial h_\text{pre} + \lambda W_1$$

Write `two_layer_net(params, X, y, reg)` returning the loss and a dict of gradients.""",
        plot_text=r"""**Your network learns the spirals** (CS231n's toy set, which no linear
classifier can separate): 2,000 steps of plain gradient descent, $W \leftarrow W - 1.0\,
\partial W$, on your loss and gradients, 100 hidden units.""",
        plot="""\
if passes("two-layer-net"):
    from dlf.data.toy import spirals

    net = load("two-layer-net")
    X, y = spirals(100, 3, noise=0.2, seed=0)
    rng = np.random.default_rng(0)
    params = {"W1": 0.5 * rng.standard_normal((2, 100)), "b1": np.zeros(100),
              "W2": 0.1 * rng.standard_normal((100, 3)), "b2": np.zeros(3)}
    losses = []
    for step in range(2000):
        loss, grads = net.two_layer_net(params, X, y, 1e-3)
        for name in params:
            params[name] -= 1.0 * grads[name]
        losses.append(float(loss))

    def predict(points):
        hidden = np.maximum(0, points @ params["W1"] + params["b1"])
        return np.argmax(hidden @ params["W2"] + params["b2"], axis=1)

    g = np.linspace(-1.1, 1.1, 150)
    regions = predict(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)).reshape(150, 150)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax.semilogy(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("your loss")
    ax2.contourf(g, g, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.8)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="Set1", s=10, edgecolor="k", linewidth=0.3)
    ax2.set_title(f"training accuracy {np.mean(predict(X) == y):.0%}")
    ax2.set_aspect("equal")
    plt.show()
""",
    ),
    "gradient-check": Section(
        text=r"""The centred difference approximates each partial derivative with an error
$O(h^2)$, and the normwise relative error compares two gradients with one scale:

$$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}, \qquad
\text{err}(a, b) = \frac{\max_i |a_i - b_i|}{\max_i (|a_i| + |b_i|)}$$

Write `numerical_gradient(f, x, h=1e-5)` (perturbing $x$ in place, then restoring it) and
`relative_error(a, b)`.""",
        plot_text=r"""**Your numerical gradient against the analytic one**, for
$f(x) = \sum_i e^{\sin x_i}$ with $\partial f / \partial x_i = \cos x_i\, e^{\sin x_i}$. Right:
your relative error as the step $h$ shrinks: the truncation error falls as $h^2$ until rounding
(about $10^{-16} / h$) takes over: the V is why $h = 10^{-5}$.""",
        plot="""\
if passes("gradient-check"):
    gc = load("gradient-check")
    x = np.random.default_rng(0).uniform(-3, 3, 30)

    def f(v):
        return float(np.sum(np.exp(np.sin(v))))

    analytic = np.cos(x) * np.exp(np.sin(x))
    numeric = gc.numerical_gradient(f, x.copy())
    steps = np.logspace(-13, -1, 25)
    errors = [gc.relative_error(gc.numerical_gradient(f, x.copy(), h), analytic) for h in steps]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax.plot([-1.5, 1.5], [-1.5, 1.5], color="grey", lw=0.6)
    ax.scatter(analytic, numeric, s=14)
    ax.set_xlabel("analytic cos(x) exp(sin(x))")
    ax.set_ylabel("your numerical_gradient (h = 1e-5)")
    ax2.loglog(steps, np.maximum(errors, 1e-17), "o-", ms=4)
    ax2.set_xlabel("step h")
    ax2.set_ylabel("your relative_error")
    plt.show()
""",
    ),
    "sgd-momentum": Section(
        text=r"""With $g' = g + \lambda p$ (weight decay) and the velocity $v$ (zero at
first):

$$\text{SGD: } p \leftarrow p - \eta g', \qquad
\text{momentum: } v \leftarrow \mu v + g',\ p \leftarrow p - \eta v, \qquad
\text{Nesterov: } v \leftarrow \mu v + g',\ p \leftarrow p - \eta (g' + \mu v)$$

Write `SGD.update(p, g, state)`, in place, keeping $v$ in `state`.""",
        plot_text=r"""**Your optimizer on a stretched bowl** $f(w) = \tfrac12 (w - w^*)^\top H
(w - w^*)$ with curvatures 0.5 and 20: plain SGD must keep its step small for the steep
direction and then zig-zags; momentum builds speed along the flat valley and overshoots,
Nesterov looks ahead and damps it (60 steps each, your `step`).""",
        plot="""\
if passes("sgd-momentum"):
    from dlf.scratch.quadratic import Quadratic

    opt = load("sgd-momentum")
    bowl = Quadratic((0.5, 20.0), angle=0.4)
    runs = {
        "SGD, lr 0.09": opt.SGD(0.09),
        "momentum 0.9, lr 0.02": opt.SGD(0.02, momentum=0.9),
        "Nesterov 0.9, lr 0.02": opt.SGD(0.02, momentum=0.9, nesterov=True),
    }
    g = np.linspace(-4.5, 4.5, 200)
    grid = np.stack(np.meshgrid(g, g), -1)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.contour(g, g, bowl(grid), levels=np.geomspace(0.01, 200, 14), colors="lightgrey")
    for label, optimizer in runs.items():
        w = np.array([-4.0, 1.5])
        path = [w.copy()]
        for _ in range(60):
            optimizer.step({"w": w}, {"w": bowl.grad(w)})  # your update, in place
            path.append(w.copy())
        path = np.array(path)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=0.8, label=label)
        ax2.semilogy([bowl(p) for p in path], label=label)
    ax.set_aspect("equal")
    ax.legend(fontsize=8)
    ax2.set_xlabel("step")
    ax2.set_ylabel("f(w)")
    plt.show()
""",
    ),
    "adam": Section(
        text=r"""Adam keeps running averages of the gradient and of its square, corrects
their bias towards zero at the start (step $t$ from 1), and scales each coordinate's step:

$$m \leftarrow \beta_1 m + (1 - \beta_1) g', \quad v \leftarrow \beta_2 v + (1 - \beta_2) g'^2,
\quad p \leftarrow p - \eta\, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}$$

Write `Adam.update(p, g, state)`, in place, reading $t$ from `state["step"]`.""",
        plot_text=r"""**Your Adam against your SGD and momentum on Rosenbrock's banana**
$f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$ (minimum at (1, 1), 500 steps): the gradient is huge
across the valley and tiny along it; SGD, with the small step the walls allow, barely moves
along the valley; momentum and Adam (whose step is about lr whatever the gradient's size) get
there.""",
        plot="""\
if passes("adam"):
    def rosenbrock(x, y):
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    def rosenbrock_grad(w):
        x, y = w
        return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])

    adam = load("adam")
    runs = {"Adam, lr 0.1": adam.Adam(0.1)}
    if passes("sgd-momentum", quiet=True):
        sgd = load("sgd-momentum")
        runs = {"SGD, lr 1e-3": sgd.SGD(1e-3), "momentum 0.9, lr 1e-3": sgd.SGD(1e-3, 0.9), **runs}
    gx, gy = np.linspace(-2, 2, 200), np.linspace(-1, 3, 200)
    X, Y = np.meshgrid(gx, gy)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax.contour(gx, gy, rosenbrock(X, Y), levels=np.geomspace(0.1, 2000, 15), colors="lightgrey")
    ax.plot(1, 1, "k*", ms=10)
    for label, optimizer in runs.items():
        w = np.array([-1.5, 2.0])
        path = [w.copy()]
        for _ in range(500):
            optimizer.step({"w": w}, {"w": rosenbrock_grad(w)})
            path.append(w.copy())
        path = np.array(path)
        ax.plot(path[:, 0], path[:, 1], lw=1, label=label)
        ax2.semilogy(rosenbrock(path[:, 0], path[:, 1]), label=label)
    ax.legend(fontsize=8)
    ax2.set_xlabel("step")
    ax2.set_ylabel("f(x, y)")
    plt.show()
""",
    ),
    "l2-penalty": Section(
        text=r"""Weight decay as a term of the loss, on the weight matrices only (arrays of
2 or more dimensions; biases and normalisation scales are not decayed):

$$R = \frac{\lambda}{2} \sum_{W \text{ decayed}} \lVert W \rVert^2, \qquad
\frac{\partial R}{\partial W} = \lambda W$$

Write `l2_penalty(params, weight_decay)` returning $R$ and the gradients of the decayed arrays
only.""",
        plot_text=r"""**Your penalty regularises your two-layer net**: the spirals trained as
above with no regularisation in `two_layer_net` (reg 0) but your `l2_penalty` added to the
loss, for three strengths. More decay: smaller weights, smoother boundaries, and in the end a
net too constrained to fit the arms.""",
        plot="""\
if passes("l2-penalty") and passes("two-layer-net"):
    from dlf.data.toy import spirals

    l2 = load("l2-penalty")
    net = load("two-layer-net")
    X, y = spirals(100, 3, noise=0.2, seed=0)
    g = np.linspace(-1.1, 1.1, 120)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, decay in zip(axes, (0.0, 1e-3, 1e-2)):
        rng = np.random.default_rng(0)
        params = {"W1": 0.5 * rng.standard_normal((2, 100)), "b1": np.zeros(100),
                  "W2": 0.1 * rng.standard_normal((100, 3)), "b2": np.zeros(3)}
        for step in range(1500):
            loss, grads = net.two_layer_net(params, X, y, 0.0)
            penalty, dpenalty = l2.l2_penalty(params, decay)
            for name in params:
                params[name] -= 1.0 * (grads[name] + dpenalty.get(name, 0.0))
        hidden = np.maximum(0, grid @ params["W1"] + params["b1"])
        regions = np.argmax(hidden @ params["W2"] + params["b2"], axis=1).reshape(120, 120)
        ax.contourf(g, g, regions, levels=[-0.5, 0.5, 1.5, 2.5], cmap="Pastel1", alpha=0.8)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Set1", s=8, edgecolor="k", linewidth=0.3)
        ax.set_title(f"weight decay {decay:g}: max |W1| {np.abs(params['W1']).max():.2f}")
        ax.set_aspect("equal")
        ax.axis("off")
    plt.show()
""",
    ),
    "dropout": Section(
        text=r"""Inverted dropout: in training, drop each entry with probability $p$ and scale
the survivors, so that nothing changes at test time:

$$m_i \sim \text{Bernoulli}(1 - p), \qquad y = \frac{x \odot m}{1 - p}, \qquad
\mathbb{E}[y] = x; \qquad \text{evaluation: } y = x$$

Write `Dropout.forward` and `Dropout.backward` (the same mask).""",
        plot_text=r"""**Your dropout masks** on an input of ones, for three drop probabilities:
each entry is 0 or $1/(1-p)$. Right: over 100,000 entries, the fraction your layer drops is
$p$, and the mean output stays 1: the expectation is unchanged.""",
        plot="""\
if passes("dropout"):
    drop = load("dropout")
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    for ax, p in zip(axes, (0.2, 0.5, 0.8)):
        y = drop.Dropout(p, rng=np.random.default_rng(0)).forward(np.ones((24, 24)))
        ax.imshow(y, cmap="viridis", vmin=0, vmax=5)
        ax.set_title(f"p = {p}: kept entries = {1 / (1 - p):.3g}")
        ax.axis("off")
    probabilities = np.linspace(0, 0.9, 19)
    outputs = [drop.Dropout(p, rng=np.random.default_rng(1)).forward(np.ones(100_000))
               for p in probabilities]
    axes[3].plot(probabilities, [np.mean(y) for y in outputs], "o-", ms=3, label="mean of y")
    axes[3].plot(probabilities, [np.mean(y == 0) for y in outputs], "s-", ms=3,
                 label="fraction dropped")
    axes[3].set_xlabel("p")
    axes[3].legend()
    plt.show()
""",
    ),
    "batchnorm": Section(
        text=r"""Normalise each feature over the batch, then scale and shift it by learned
$\gamma, \beta$; keep running averages of the statistics for evaluation:

$$\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \quad y = \gamma \hat x + \beta,
\qquad \partial x = \frac{g - \overline{g} - \hat x\, \overline{g \hat x}}{\sqrt{\sigma_B^2
+ \epsilon}}\ \ (g = \gamma\, \partial y,\ \overline{\,\cdot\,}: \text{mean over the batch})$$

Write `BatchNorm1d.forward` and `BatchNorm1d.backward` for inputs $(N, C)$.""",
        plot_text=r"""**Your batch norm on three features of very different scales**: before
and after one training forward (each comes out with mean 0 and variance 1, whatever its
shape). Right: your running mean over 60 training batches, moving 10% of the way to each batch's
mean (momentum 0.1) towards the true means (dotted): what evaluation uses.""",
        plot="""\
if passes("batchnorm"):
    bn = load("batchnorm")
    rng = np.random.default_rng(0)

    def batch(n=256):
        return np.stack([rng.normal(5.0, 3.0, n), rng.normal(-2.0, 0.5, n),
                         rng.exponential(1.0, n)], axis=1)

    layer = bn.BatchNorm1d(3, dtype=np.float64)
    x = batch()
    y = layer.forward(x)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for k, name in enumerate(("N(5, 3)", "N(-2, 0.5)", "Exp(1)")):
        axes[0].hist(x[:, k], bins=30, alpha=0.6, label=name)
        axes[1].hist(y[:, k], bins=30, alpha=0.6, label=name)
    axes[0].set_title("a batch: before")
    axes[1].set_title("after your forward (training)")
    axes[0].legend(fontsize=8)
    means = []
    for step in range(60):
        layer.forward(batch())
        means.append(layer.buffers["running_mean"].copy())
    axes[2].plot(np.array(means))
    for true_mean in (5.0, -2.0, 1.0):
        axes[2].axhline(true_mean, ls=":", color="grey")
    axes[2].set_xlabel("training batch")
    axes[2].set_title("your running_mean")
    plt.show()
""",
    ),
    "initialization": Section(
        text=r"""Choose the variance of the random weights $W \in \mathbb{R}^{n_\text{in}
\times n_\text{out}}$ so that the signal keeps its scale from layer to layer:

$$\text{Xavier: } W \sim \mathcal{N}\!\left(0, \frac{2}{n_\text{in} + n_\text{out}}\right),
\qquad \text{He: } W \sim \mathcal{N}\!\left(0, \frac{2}{n_\text{in}}\right)$$

Write `xavier_normal(fan_in, fan_out, rng, dtype)` and `he_normal(...)`.""",
        plot_text=r"""**Your initialisations in a deep network** (12 layers of width 256, a
batch of 500 standard-normal inputs, no training): the standard deviation of each layer's
activations. With ReLU, small weights (N(0, 0.01²)) kill the signal at once and Xavier
loses a factor $\sqrt 2$ of it at every layer (ReLU zeroes half the units), He keeps it.
With tanh, Xavier shrinks it only slowly, and He's larger weights push units towards
saturation.""",
        plot="""\
if passes("initialization"):
    init = load("initialization")
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((500, 256))
    schemes = {
        "N(0, 0.01²)": lambda n_in, n_out: 0.01 * rng.standard_normal((n_in, n_out)),
        "your xavier_normal": lambda n_in, n_out: init.xavier_normal(n_in, n_out, rng, np.float64),
        "your he_normal": lambda n_in, n_out: init.he_normal(n_in, n_out, rng, np.float64),
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for ax, (name, activation) in zip(axes, [("ReLU", lambda z: np.maximum(0, z)),
                                              ("tanh", np.tanh)]):
        for label, draw in schemes.items():
            h, stds = x0, []
            for layer in range(12):
                h = activation(h @ draw(256, 256))
                stds.append(h.std())
            ax.semilogy(range(1, 13), np.maximum(stds, 1e-30), "o-", ms=3, label=label)
        ax.set_title(f"{name} network")
        ax.set_xlabel("layer")
        ax.set_ylabel("std of the activations")
        ax.legend(fontsize=8)
    plt.show()
""",
    ),
    "conv-naive": Section(
        text=r"""A convolutional layer slides each of its $F$ filters over the zero-padded input
$x_p$ (cross-correlation: the kernel is not flipped):

$$\text{out}[n, f, i, j] = b_f + \sum_{c,u,v} w[f, c, u, v]\;
x_p[n, c, i s + u, j s + v], \qquad H_o = \frac{H + 2p - HH}{s} + 1$$

and its backward pass sends each $\text{dout}[n, f, i, j]$ back along the products it was made
of (windows overlap: accumulate with `+=`). Write `conv_forward_naive(x, w, b, stride, pad)` and
`conv_backward_naive(dout, x, w, b, stride, pad)` with loops.""",
        plot_text=r"""**Your convolution finds edges in an MNIST digit**: two Sobel filters
(vertical and horizontal edges) in one call of your `conv_forward_naive`, padding 1.""",
        plot="""\
if passes("conv-naive"):
    conv = load("conv-naive")
    images, labels = digits(1)  # (1, 1, 28, 28), pixels in [0, 1]
    x = images[:1]
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    w = np.stack([sobel, sobel.T])[:, None]  # (2, 1, 3, 3): vertical and horizontal edges
    out = conv.conv_forward_naive(x, w, np.zeros(2), 1, 1)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    panels = [(x[0, 0], "the digit", "gray"), (out[0, 0], "vertical edges", "RdBu"),
              (out[0, 1], "horizontal edges", "RdBu")]
    for ax, (img, title, cmap) in zip(axes, panels):
        ax.imshow(img, cmap=cmap)
        ax.set_title(title)
        ax.axis("off")
    plt.show()
""",
    ),
    "max-pool": Section(
        text=r"""Max pooling keeps the largest value of each window, per image and channel:

$$\text{out}[n, c, i, j] = \max_{u < PH,\ v < PW} x[n, c, i s + u, j s + v]$$

and its backward pass sends each $\text{dout}[n, c, i, j]$ to the one pixel that was the
window's (first) maximum. Write `max_pool_forward_naive(x, pool_height, pool_width, stride)` and
`max_pool_backward_naive(dout, x, pool_height, pool_width, stride)` with loops.""",
        plot_text=r"""**Your max pooling on a digit**: 28x28 -> 14x14 -> 7x7 (2x2 windows,
stride 2). Right: your backward pass of a gradient of ones marks (red) the pixel that won each
window of the first pooling; on the black background every pixel ties, and the first wins.""",
        plot="""\
if passes("max-pool"):
    pool = load("max-pool")
    images, labels = digits(3)
    x = images[2:3]  # (1, 1, 28, 28)
    once = pool.max_pool_forward_naive(x, 2, 2, 2)
    twice = pool.max_pool_forward_naive(once, 2, 2, 2)
    winners = pool.max_pool_backward_naive(np.ones_like(once), x, 2, 2, 2)
    fig, axes = plt.subplots(1, 4, figsize=(11, 3))
    panels = [(x, "input 28x28"), (once, "pooled 14x14"), (twice, "pooled again 7x7"),
              (x, "your backward: the winners")]
    for ax, (img, title) in zip(axes, panels):
        ax.imshow(img[0, 0], cmap="gray")
        ax.set_title(title)
        ax.axis("off")
    rows, cols = np.nonzero(winners[0, 0])
    axes[3].scatter(cols, rows, s=5, c="red")
    plt.show()
""",
    ),
    "receptive-field": Section(
        text=r"""Walk up a stack of conv and pool layers, from the input ($r = 1$, $j = 1$):
a layer with kernel $k$ and stride $s$ sees

$$r_\text{out} = r_\text{in} + (k - 1)\, j_\text{in}, \qquad j_\text{out} = j_\text{in}\, s$$

($r$: the side of the input patch one feature sees; $j$: the input distance between two
neighbouring features). Write `receptive_field(layers)` for a list of `(kernel, stride,
padding)`.""",
        plot_text=r"""**How fast the field grows, by your `receptive_field`**: 3x3 convolutions
alone add 2 pixels a layer; a 2x2 pool (or a stride-2 conv) doubles the jump, and with it what
every later layer adds. The dotted line is the side of an MNIST digit.""",
        plot="""\
if passes("receptive-field"):
    rf = load("receptive-field")
    conv3, pool2, conv3s2 = (3, 1, 1), (2, 2, 0), (3, 2, 1)
    stacks = {
        "3x3 convs only": [conv3] * 12,
        "VGG: 2 convs, then a 2x2 pool": [conv3, conv3, pool2] * 4,
        "3x3 convs, each 2nd of stride 2": [conv3, conv3s2] * 6,
    }
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, layers in stacks.items():
        r = [row[0] for row in rf.receptive_field(layers)]
        ax.plot(range(1, len(r) + 1), r, "o-", label=label, ms=4)
    ax.axhline(28, ls=":", color="grey")
    ax.set_xlabel("layer")
    ax.set_ylabel("receptive field (pixels)")
    ax.set_yscale("log", base=2)
    ax.legend()
    plt.show()
""",
    ),
    "cnn-pytorch": Section(
        text=r"""Build a small convolutional network in PyTorch, from $(N, 1, 28, 28)$ images
to logits $(N, 10)$, e.g. LeNet's plan with batch norm:

$$[\text{Conv } 3{\times}3 \to \text{BatchNorm} \to \text{ReLU} \to \text{MaxPool } 2{\times}2]
\times 2 \to \text{Flatten} \to \text{Linear}$$

Write `build_cnn(num_classes)`; the grader trains it briefly and asks for 90% accuracy (this
cell takes several seconds).""",
        plot_text=r"""**Your CNN, trained here for one epoch** on the grader's 2,000 MNIST
images (Adam, lr 1e-3, batches of 32): the loss of every batch, and your network's answers on
test digits it never saw (red: wrong).""",
        plot="""\
if passes("cnn-pytorch"):
    import torch
    from torch import nn

    from dlf.cnn.data import image_tensors
    from dlf.learn.module2.cnn_pytorch import SEED, TEST_IMAGES, TRAIN_IMAGES

    cnn = load("cnn-pytorch")
    data = image_tensors("mnist", 0.0, TRAIN_IMAGES, TEST_IMAGES, SEED)  # the grader's images
    torch.set_num_threads(1)  # batches of 32: one thread is fastest (the grader uses one too)
    torch.manual_seed(0)
    model = cnn.build_cnn(10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    model.train()
    for epoch in range(1):
        for batch in torch.randperm(len(data.x_train)).split(32):
            loss = nn.functional.cross_entropy(model(data.x_train[batch]), data.y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predicted = model(data.x_test).argmax(dim=1)
    accuracy = (predicted == data.y_test).float().mean().item()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(losses, lw=0.8)
    ax.set_xlabel("batch")
    ax.set_ylabel("training loss")
    ax.set_title(f"your CNN: test accuracy {accuracy:.1%} on {len(data.y_test)} images")
    plt.show()
    fig, axes = plt.subplots(1, 12, figsize=(12, 1.6))
    for i, ax in enumerate(axes):
        ax.imshow(data.x_test[i, 0], cmap="gray")
        wrong = predicted[i] != data.y_test[i]
        ax.set_title(str(int(predicted[i])), color="red" if wrong else "black")
        ax.axis("off")
    plt.show()
""",
    ),
    "rnn-step": Section(
        text=r"""A vanilla (Elman) RNN reads a sequence one step at a time, carrying a hidden
state $h$; one step, and its backward pass given $\partial h_t = \partial L / \partial h_t$:

$$h_t = \tanh(a), \quad a = x_t W_x + h_{t-1} W_h + b; \qquad
\partial a = \partial h_t \odot (1 - h_t^2)$$

$$\partial x_t = \partial a\, W_x^\top, \quad \partial h_{t-1} = \partial a\, W_h^\top, \quad
\partial W_x = x_t^\top \partial a, \quad \partial W_h = h_{t-1}^\top \partial a, \quad
\partial b = \sum_\text{rows} \partial a$$

Write `rnn_step_forward(x, prev_h, Wx, Wh, b)` returning `(next_h, cache)` and
`rnn_step_backward(dnext_h, cache)` returning `(dx, dprev_h, dWx, dWh, db)`.""",
        plot_text=r"""**Why RNNs struggle, with your backward pass**: your forward over 60 steps
(32 hidden units, random inputs), then your `rnn_step_backward` carries a gradient from the last
step back to the first. Every step multiplies it by $\operatorname{diag}(1 - h^2)\, W_h^\top$, so
its norm changes geometrically with the distance: it vanishes when $W_h$ is small (spectral
radius $\rho < 1$) and explodes when it is large. Right: with larger inputs the tanh saturates
($1 - h^2 \approx 0$) and the gradient vanishes even through a large $W_h$. Either way, the
first steps of a long sequence barely learn from the last: attention, next, gives every pair of
positions a path of length one.""",
        plot="""\
if passes("rnn-step"):
    rnn = load("rnn-step")
    rng = np.random.default_rng(0)
    T, D, H = 60, 8, 32
    xs = rng.standard_normal((T, 1, D))
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    W0 = rng.standard_normal((H, H)) / np.sqrt(H)
    b = np.zeros(H)

    def gradient_norms(Wh, input_scale):
        h, caches = np.zeros((1, H)), []
        for t in range(T):  # your forward, step by step
            h, cache = rnn.rnn_step_forward(input_scale * xs[t], h, Wx, Wh, b)
            caches.append(cache)
        dh, norms = np.ones((1, H)) / np.sqrt(H), []
        for cache in reversed(caches):  # your backward, from the last step to the first
            dx, dh, dWx, dWh, db = rnn.rnn_step_backward(dh, cache)
            norms.append(np.linalg.norm(dh))
        return np.maximum(norms, 1e-300)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for scale in (0.5, 1.0, 1.5, 2.5, 4.0):
        rho = np.abs(np.linalg.eigvals(scale * W0)).max()
        ax.semilogy(range(1, T + 1), gradient_norms(scale * W0, 0.3), label=f"rho(Wh) = {rho:.1f}")
    ax.set_title("inputs x 0.3: vanishing or exploding")
    for input_scale in (0.3, 1.0, 3.0):
        norms = gradient_norms(2.5 * W0, input_scale)
        ax2.semilogy(range(1, T + 1), norms, label=f"inputs x {input_scale}")
    ax2.set_title("rho(Wh) = 2.8: a saturated tanh makes it vanish")
    for a in (ax, ax2):
        a.set_xlabel("steps back from the last one")
        a.axhline(1.0, color="grey", lw=0.5)
        a.legend(fontsize=8)
    ax.set_ylabel("norm of your dprev_h")
    plt.show()
""",
    ),
    "attention": Section(
        text=r"""Each query attends to every key it is allowed to see, with weights that sum to
1 (Vaswani et al. 2017, eq. 1); a boolean mask is True where attention is allowed:

$$S = \frac{Q K^\top}{\sqrt{d_k}}, \qquad A = \operatorname{softmax}_\text{keys}(S \text{ with
masked entries } -\infty), \qquad \text{out} = A V$$

$$\partial V = A^\top \partial\text{out}, \quad \partial A = \partial\text{out}\, V^\top, \quad
\partial S = A \odot \big(\partial A - \textstyle\sum_\text{keys} \partial A \odot A\big), \quad
\partial Q = \frac{\partial S\, K}{\sqrt{d_k}}, \quad \partial K = \frac{\partial S^\top Q}
{\sqrt{d_k}}$$

Write `scaled_dot_product_attention(q, k, v, mask=None)` returning `(out, A)` and
`scaled_dot_product_attention_backward(dout, q, k, v, weights)`, with no loop (any leading
batch and head axes).""",
        plot_text=r"""**Your attention weights $A$** (rows: queries, columns: keys; each row sums
to 1). Left: six keys, and queries that each equal one of them (shuffled): each query finds its
key. Middle: random queries and keys under a causal mask: query $t$ sees keys $0..t$ only.
Right: a batch of two sequences padded to 8, lengths 8 and 5: the padding mask keeps every
query of the second away from its 3 padded keys.""",
        plot="""\
if passes("attention"):
    att = load("attention")
    rng = np.random.default_rng(0)
    d = 16
    keys = 6.0 * np.linalg.qr(rng.standard_normal((d, 6)))[0].T  # orthogonal, length 6
    order = rng.permutation(6)
    queries = keys[order]  # query i equals key order[i]
    _, A_match = att.scaled_dot_product_attention(queries, keys, rng.standard_normal((6, 3)))
    q, k, v = (rng.standard_normal((8, d)) for _ in range(3))
    causal = np.tril(np.ones((8, 8), dtype=bool))
    _, A_causal = att.scaled_dot_product_attention(q, k, v, causal)
    q, k, v = (rng.standard_normal((2, 8, d)) for _ in range(3))
    lengths = np.array([8, 5])
    padding = (np.arange(8)[None, :] < lengths[:, None])[:, None, :]  # (2, 1, 8): keys
    _, A_padded = att.scaled_dot_product_attention(q, k, v, padding)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    panels = [(A_match, "each query matches one key"), (A_causal, "causal mask"),
              (A_padded[1], "padding mask, length 5 of 8")]
    for ax, (A, title) in zip(axes, panels):
        attention_heatmap(ax, A, title=title)
    axes[0].set_yticks(range(6), [f"q{i} = k{j}" for i, j in enumerate(order)])
    plt.show()
""",
    ),
    "multi-head-attention": Section(
        text=r"""$h$ heads, each attending in its own $d_k = C / h$ dimensional slice of the
projections, then concatenated and projected back:

$$\text{head}_i = \operatorname{Attention}(x W_q^i,\ x W_k^i,\ x W_v^i), \qquad
y = \operatorname{Concat}(\text{head}_1, \dots, \text{head}_h)\, W_o + b_o$$

`split_heads` takes $(B, T, C) \to (B, h, T, d_k)$ (head $i$: features $i d_k .. (i+1) d_k - 1$),
`merge_heads` undoes it. The backward pass goes through each step in reverse; $x$ feeds $Q$, $K$
and $V$, so $\partial x$ is the sum of three. Write `split_heads`, `merge_heads`, and the layer's
`forward(x, mask=None)` (keeping `self.attn_weights`) and `backward(dout)`.""",
        plot_text=r"""**One layer, four heads, four patterns: your `attn_weights`.** The input is
8 positions coded one-hot, and each head's $W_q^i, W_k^i$ (set by hand here) compare them
differently: head 1 matches a query to the previous position, head 2 to itself, head 3 to the
first position, head 4 to two positions back (causal mask; where the target does not exist, the
weights spread over the allowed keys). Only a correct `split_heads` gives each head its own
slice: a reshape alone would mix them.""",
        plot="""\
if passes("multi-head-attention"):
    mha = load("multi-head-attention")
    T, C, h = 8, 32, 4
    d_k = C // h
    layer = mha.MultiHeadSelfAttention(C, h, dtype=np.float64, rng=np.random.default_rng(0))
    x = np.zeros((1, T, C))
    x[0, np.arange(T), np.arange(T)] = 1.0  # position t: the one-hot vector e_t
    Wq, Wk = np.zeros((C, C)), np.zeros((C, C))
    sharp = 20.0  # scores of sharp / sqrt(d_k) = 7: nearly one-hot weights
    looks_at = {"the previous position": 1, "itself": 0, "the first position": None,
                "two positions back": 2}
    for i, back in enumerate(looks_at.values()):
        cols = slice(i * d_k, (i + 1) * d_k)
        if back is None:  # every query e_0, and only key 0 is e_0
            Wq[:T, cols][:, 0] = sharp
            Wk[0, cols][0] = 1.0
        else:  # query t: e_t; key u: e_(u + back); they match when u = t - back
            Wq[:T, cols][np.arange(T), np.arange(T)] = sharp
            u = np.arange(T - back)
            Wk[:T, cols][u, u + back] = 1.0
    layer.params["W_q"][...] = Wq
    layer.params["W_k"][...] = Wk
    layer.forward(x, np.tril(np.ones((T, T), dtype=bool)))
    fig, axes = plt.subplots(1, h, figsize=(13, 3.4), layout="constrained")
    for i, (ax, label) in enumerate(zip(axes, looks_at)):
        im = attention_heatmap(ax, layer.attn_weights[0, i], title=f"head {i + 1}: {label}",
                               colorbar=False)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="attention weight")
    plt.show()
""",
    ),
    "positional-encoding": Section(
        text=r"""Attention is blind to order; the transformer adds to each token's embedding
a vector that depends on its position only, from sines and cosines of $d/2$ geometrically
spaced frequencies (Vaswani et al. 2017, section 3.5):

$$PE_{pos,\, 2i} = \sin\!\big(pos / 10000^{2i/d}\big), \qquad
PE_{pos,\, 2i+1} = \cos\!\big(pos / 10000^{2i/d}\big)$$

Write `sinusoidal_table(n_positions, d_model, base=10000.0)` with no loop.""",
        plot_text=r"""**Your table** (64 positions, $d$ = 64): fast frequencies in the first
columns, slow ones in the last. Middle: the dot product $PE_i \cdot PE_j$ of every two positions
depends on $i - j$ only (each sin/cos pair gives $\cos(\omega (i - j))$), largest at $i = j$.
Right: from three starting points the same curve: the encoding lets attention see relative
positions.""",
        plot="""\
if passes("positional-encoding"):
    pe = load("positional-encoding")
    table = pe.sinusoidal_table(64, 64)
    gram = table @ table.T
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.9), layout="constrained")
    im = axes[0].imshow(table, cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
    axes[0].set_xlabel("dimension")
    axes[0].set_ylabel("position")
    axes[0].set_title("your sinusoidal_table(64, 64)")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    im = axes[1].imshow(gram, cmap="viridis")
    axes[1].set_xlabel("position j")
    axes[1].set_ylabel("position i")
    axes[1].set_title("PE_i . PE_j")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    offsets = np.arange(0, 24)
    for start, style in ((0, "-"), (20, "--"), (40, ":")):
        axes[2].plot(offsets, gram[start, start + offsets], style, lw=4 - start / 20,
                     label=f"i = {start}")
    axes[2].set_xlabel("offset k")
    axes[2].set_title("PE_i . PE_(i+k)")
    axes[2].legend()
    plt.show()
""",
    ),
    "encoder-block": Section(
        text=r"""One encoder layer: self-attention, then the position-wise feed-forward
network, each inside a residual connection with layer norm. Post-norm (the paper) and pre-norm:

$$\text{post: } x \leftarrow \operatorname{LN}_1\big(x + \operatorname{Drop}(\operatorname{Attn}
(x, x, x))\big), \quad y = \operatorname{LN}_2\big(x + \operatorname{Drop}(\operatorname{FFN}(x))
\big)$$

$$\text{pre: } x \leftarrow x + \operatorname{Drop}\big(\operatorname{Attn}(n, n, n)\big),\
n = \operatorname{LN}_1(x), \quad y = x + \operatorname{Drop}\big(\operatorname{FFN}
(\operatorname{LN}_2(x))\big)$$

Write `EncoderLayer.forward(x, mask=None)` (the sub-modules are dlf's).""",
        plot_text=r"""**Your encoder layer's data flow**, traced as it runs (a batch of 2
sequences of 6 positions, $d$ = 16, 2 heads, a padding mask for lengths 6 and 4): every call of
a sub-module and every tensor operation of your `forward` between them, post-norm then
pre-norm. Below: the self-attention weights of the second sequence, where the padded keys get
none, and a check that changing the padding changes no real position.""",
        plot=DATA_FLOW.format(name="encoder-block")
        + """\
    enc = load("encoder-block")
    lengths = torch.tensor([6, 4])
    mask = (torch.arange(6)[None, :] < lengths[:, None])[:, None, None, :]  # (2, 1, 1, 6)
    x = torch.randn(2, 6, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    print(f"x {tuple(x.shape)}, mask {tuple(mask.shape)}")
    for norm_first in (False, True):
        torch.manual_seed(0)
        layer = enc.EncoderLayer(16, 2, 32, dropout=0.1, norm_first=norm_first).double().eval()
        print("pre-norm:" if norm_first else "post-norm:")
        y = data_flow(layer, {"x": x, "mask": mask},
                      ("self_attn", "dropout", "norm_1", "feed_forward", "norm_2"))
    layer.self_attn.record_weights = True
    with torch.no_grad():
        y = layer(x, mask)
        weights = layer.self_attn.last_weights  # (2, heads, 6, 6)
        x_changed = x.clone()
        x_changed[1, 4:] += 10.0  # the padding of sequence 2
        change = (layer(x_changed, mask)[1, :4] - y[1, :4]).abs().max().item()
    print(f"changing the padding of sequence 2 changes its real positions by {change:.1e}")
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
    for i, ax in enumerate(axes):
        im = attention_heatmap(ax, weights[1, i], title=f"sequence 2 (length 4), head {i + 1}",
                               colorbar=False)
    fig.colorbar(im, ax=list(axes), shrink=0.8, label="attention weight")
    plt.show()
""",
    ),
    "decoder-block": Section(
        text=r"""One decoder layer: masked self-attention over the target so far,
cross-attention from the target (queries) to the encoder's output ("memory": keys and values),
then the feed-forward network; each a residual sub-layer. Post-norm:

$$x \leftarrow \operatorname{LN}_1\big(x + \operatorname{Drop}(\operatorname{SelfAttn}(x, x, x,
M_\text{tgt}))\big), \quad
x \leftarrow \operatorname{LN}_2\big(x + \operatorname{Drop}(\operatorname{CrossAttn}(x, m, m,
M_\text{src}))\big)$$

$$y = \operatorname{LN}_3\big(x + \operatorname{Drop}(\operatorname{FFN}(x))\big)$$

($m$: the memory; $M_\text{tgt}$ causal, $M_\text{src}$ hiding source padding), and pre-norm as
in the encoder (memory not normalised). Write
`DecoderLayer.forward(x, memory, src_mask=None, tgt_mask=None)`.""",
        plot_text=r"""**Your decoder layer's data flow** (a target of 6 positions, a memory of 7
source positions of which the last 2 are padding), traced as above. Below, from your `forward`:
the self-attention weights (causal), the cross-attention weights (every target position over
the 5 real source positions), and what changes when one target position changes: position $j$
changes only the outputs at $i \ge j$ (the dark lower triangle: no looking ahead).""",
        plot=DATA_FLOW.format(name="decoder-block")
        + """\
    dec = load("decoder-block")
    T, S = 6, 7
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, T, 16, dtype=torch.float64, generator=generator)
    memory = torch.randn(1, S, 16, dtype=torch.float64, generator=generator)
    tgt_mask = torch.tril(torch.ones(T, T, dtype=torch.bool))  # (6, 6)
    src_mask = (torch.arange(S) < 5)[None, None, None, :]  # (1, 1, 1, 7): 5 real positions
    torch.manual_seed(0)
    layer = dec.DecoderLayer(16, 2, 32, dropout=0.1).double().eval()
    print(f"x {tuple(x.shape)}, memory {tuple(memory.shape)}, tgt_mask",
          f"{tuple(tgt_mask.shape)}, src_mask {tuple(src_mask.shape)}; post-norm:")
    inputs = {"x": x, "memory": memory, "src_mask": src_mask, "tgt_mask": tgt_mask}
    y = data_flow(layer, inputs, ("self_attn", "cross_attn", "dropout", "norm_1", "norm_2",
                                  "norm_3", "feed_forward"))
    layer.self_attn.record_weights = layer.cross_attn.record_weights = True
    with torch.no_grad():
        y = layer(**inputs)
        self_weights = layer.self_attn.last_weights[0, 0]
        cross_weights = layer.cross_attn.last_weights[0, 0]
        change = np.zeros((T, T))
        for j in range(T):
            x_changed = x.clone()
            x_changed[0, j] += 1.0
            out = layer(x_changed, memory, src_mask=src_mask, tgt_mask=tgt_mask)
            change[:, j] = (out - y)[0].abs().amax(dim=-1).numpy()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    panels = [(self_weights, "self-attention (head 1)", "key (target)"),
              (cross_weights, "cross-attention (head 1)", "key (source)")]
    for ax, (w, title, xlabel) in zip(axes, panels):
        attention_heatmap(ax, w, title=title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("query (target)")
    im = axes[2].imshow(change, cmap="Greys")
    axes[2].set_title("change of output i, input j changed", fontsize=10)
    axes[2].set_xlabel("input position j")
    axes[2].set_ylabel("output position i")
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    plt.show()
""",
    ),
    "bpe-merges": Section(
        text=r"""Byte-pair encoding starts from the UTF-8 bytes of a text (ids 0..255) and
repeats two steps: count every adjacent pair, then replace each occurrence of the most frequent
one by a new id (Sennrich et al. 2016; minbpe's `get_stats` and `merge`):

$$\text{counts}[(a, b)] = \#\{i : \text{ids}_i = a,\ \text{ids}_{i+1} = b\}, \qquad
\text{ids} \leftarrow \operatorname{merge}\big(\text{ids},\ \arg\max \text{counts},\
256 + k\big)$$

Write `pair_counts(ids, counts=None, weight=1)` and `merge_pair(ids, pair, new_id)` (occurrences
do not overlap: `[7, 7, 7]` with `(7, 7)` gives `[new_id, 7]`).""",
        plot_text=r"""**Your `pair_counts` on the first 10,000 characters of Tiny Shakespeare**:
the 15 most frequent pairs of bytes (spaces and newlines shown as `' '` and `'\n'`): the end of a
word and the space after it lead. Your `merge_pair` of the top pair shortens the sequence by
exactly its count.""",
        plot="""\
if passes("bpe-merges"):
    from dlf.data.text import load_text

    bpe = load("bpe-merges")
    text = load_text("tinyshakespeare")[:10_000]
    ids = list(text.encode("utf-8"))
    counts = bpe.pair_counts(ids)
    top = sorted(counts, key=counts.get, reverse=True)[:15]
    labels = [repr(bytes(pair).decode("utf-8", errors="replace")) for pair in top]
    fig, ax = plt.subplots(figsize=(10, 3.4))
    ax.bar(range(15), [counts[pair] for pair in top])
    ax.set_xticks(range(15), labels, fontfamily="monospace")
    ax.set_ylabel("count")
    ax.set_title(f"your pair_counts: {len(counts)} distinct pairs in {len(ids):,} bytes")
    plt.show()
    merged = bpe.merge_pair(ids, top[0], 256)
    print(f"merge_pair(ids, {top[0]}, 256): {len(ids):,} -> {len(merged):,} ids",
          f"(the pair {labels[0]} occurs {counts[top[0]]} times)")
""",
    ),
    "bpe-tokenizer": Section(
        text=r"""A byte-level BPE tokenizer: `train` learns the merges by repeating the two steps
of `bpe-merges` (merge $k$ makes token $256 + k$; ties go to the smallest pair); `encode` turns a
text's bytes into tokens by applying the learnt merges, lowest rank first; `decode` joins the
tokens' bytes and reads them as UTF-8:

$$\text{vocab}[i] = \text{bytes}([i])\ (i < 256), \qquad \text{vocab}[256 + k] = \text{vocab}[a]
+ \text{vocab}[b] \quad \text{for merges}[k] = (a, b)$$

Write `train(text, vocab_size)`, `encode(text, merges)` and `decode(ids, merges)`
(`decode(encode(t)) == t`).""",
        plot_text=r"""**Your tokenizer trained on 20,000 characters of Tiny Shakespeare** (300
merges, a few seconds): its first merges, and how your `encode` cuts a line it never saw.
Right: the tokens per character of held-out text (the last 5,000 characters) as the vocabulary
grows: the first merges (frequent pairs) save the most, later ones less and less.""",
        plot="""\
if passes("bpe-tokenizer"):
    from dlf.data.text import load_text

    tok = load("bpe-tokenizer")
    text = load_text("tinyshakespeare")
    train_text, held_out = text[:20_000], text[-5_000:]
    merges = tok.train(train_text, 256 + 300)
    first = [tok.decode([256 + k], merges) for k in range(24)]
    print("your first 24 merges:", " ".join(repr(t) for t in first))
    line = "To be, or not to be, that is the question"
    pieces = [tok.decode([i], merges) for i in tok.encode(line, merges)]
    print(f"encode({line!r}): {len(pieces)} tokens for {len(line)} characters")
    print("  " + "|".join(pieces))
    sizes = [0, 10, 25, 50, 100, 150, 200, 300]
    ratio = [len(tok.encode(held_out, merges[:m])) / len(held_out) for m in sizes]
    assert tok.decode(tok.encode(held_out, merges), merges) == held_out
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot([256 + m for m in sizes], ratio, "o-")
    ax.set_xlabel("vocabulary size (256 bytes + merges)")
    ax.set_ylabel("tokens per character")
    ax.set_title("your encode on held-out Shakespeare")
    plt.show()
""",
    ),
    "causal-mask": Section(
        text=r"""A GPT predicts token $t + 1$ from tokens $0..t$: position $t$ must not see the
future. With $S$ keys of which the $L$ queries are the last $L$ (the $S - L$ others cached):

$$\text{mask}[i, j] = \big(j \le i + (S - L)\big) \qquad (\text{True: query } i \text{ may attend
to key } j)$$

Write `causal_mask(L, S=None, device=None)`, a `torch.bool` tensor $(L, S)$.""",
        plot_text=r"""**Your masks** (yellow: may attend): $L = S = 8$, the lower triangle; $L =
3$ new queries after 5 cached keys ($S = 8$), aligned to the bottom right. Right: attention
weights of random scores under your first mask: row $t$ spreads over $t + 1$ keys.""",
        plot="""\
if passes("causal-mask"):
    import torch

    from dlf.transformer.attention import scaled_dot_product_attention

    cm = load("causal-mask")
    square, cached = cm.causal_mask(8), cm.causal_mask(3, 8)
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 8, 4).unbind(0)
    _, weights = scaled_dot_product_attention(q, k, v, square)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
    panels = [(square, "causal_mask(8)"), (cached, "causal_mask(3, 8): 5 cached keys"),
              (weights, "softmax weights under causal_mask(8)")]
    for ax, (m, title) in zip(axes, panels):
        attention_heatmap(ax, m.float(), title=title, colorbar=ax is axes[2])
    axes[1].set_yticks(range(3), ["5", "6", "7"])
    axes[1].set_ylabel("query at position")
    plt.show()
""",
    ),
    "causal-self-attention": Section(
        text=r"""GPT's attention: one projection makes the queries, keys and values of all
$h$ heads, each head attends causally, and the heads are merged and projected:

$$q, k, v = \operatorname{split}(x W_\text{attn} + b_\text{attn}), \qquad
y = \operatorname{Concat}_h\Big(\operatorname{softmax}\big(q_h k_h^\top / \sqrt{d} +
\text{causal}\big)\, v_h\Big)\, W_\text{proj} + b_\text{proj}$$

With a KV cache, the keys and values of earlier positions come first along the time axis and the
$T$ new queries are the last $T$ positions. Write `CausalSelfAttention.forward(x,
kv_cache=None)` returning `(y, (k, v))`.""",
        plot_text=r"""**Your attention in a tiny GPT** (dlf's blocks and model around your
`CausalSelfAttention`: 1 layer, 2 heads, $C$ = 32), trained here for 200 steps on sequences whose
second half repeats the first 8 tokens. To predict a token of the second half, a position must
look 7 positions back: the maps (your weights, caught on their way through
`scaled_dot_product_attention`) show that diagonal, under the causal mask.""",
        plot="""\
if passes("causal-self-attention"):
    import torch

    from dlf.gpt import model as gpt_model

    csa = load("causal-self-attention")
    torch.set_num_threads(1)
    caught = []
    sdpa = csa.scaled_dot_product_attention

    def catching(*args, **kwargs):  # your forward's call, its weights kept
        out, weights = sdpa(*args, **kwargs)
        caught.append(weights.detach())
        return out, weights

    csa.scaled_dot_product_attention = catching

    class Block(gpt_model.Block):
        attention = csa.CausalSelfAttention

    class TinyGPT(gpt_model.GPT):
        block = Block

    vocab, half = 12, 8
    torch.manual_seed(0)
    net = TinyGPT(gpt_model.GPTConfig(block_size=2 * half, vocab_size=vocab, n_layer=1,
                                      n_head=2, n_embd=32))

    def repeats(n):
        first = torch.randint(0, vocab, (n, half))
        seq = torch.cat([first, first], dim=1)
        targets = torch.cat([torch.full((n, half - 1), -1), seq[:, half:]], dim=1)
        return seq[:, :-1], targets  # the loss counts the second half only

    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for step in range(200):
        x, y = repeats(32)
        _, loss = net(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    net.eval()
    caught.clear()
    shown = repeats(1)[0]
    tokens = [str(t) for t in shown[0].tolist()]
    with torch.no_grad():
        net(shown)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
    axes[0].semilogy(losses)
    axes[0].set_xlabel("step")
    axes[0].set_title("training loss (second halves)")
    if caught:
        for i, ax in enumerate(axes[1:]):
            im = attention_heatmap(ax, caught[-1][0, i], tokens, tokens,
                                   title=f"your weights, head {i + 1}", colorbar=False)
        fig.colorbar(im, ax=list(axes[1:]), shrink=0.8, label="attention weight")
    else:
        print("(your forward does not call scaled_dot_product_attention: no maps to show)")
    plt.show()
""",
    ),
    "gpt-block": Section(
        text=r"""GPT-2's block is pre-norm: each sub-layer reads a normalised copy of the
residual stream and adds its output back to it, so the stream itself is never normalised
(one final LayerNorm does it, at the top of the model):

$$x \leftarrow x + \operatorname{Drop}\big(\operatorname{Attn}(\operatorname{LN}_1(x))\big),
\qquad x \leftarrow x + \operatorname{Drop}\big(\operatorname{MLP}(\operatorname{LN}_2(x))\big),
\qquad \operatorname{MLP}(h) = \operatorname{GELU}(h W_1 + b_1) W_2 + b_2$$

Write `Block.forward(x, kv_cache=None)` returning `(x, (k, v))`, the `(k, v)` of its
attention."""
    ),
    "gpt": Section(
        text=r"""The whole model: token and learned position embeddings, $n_\text{layer}$
blocks, a final LayerNorm, and an output layer that shares its weight with the token embedding
(weight tying, Press & Wolf 2017):

$$h_0 = W_{te}[\text{idx}] + W_{pe}[p .. p + T - 1], \qquad h_l = \operatorname{Block}_l
(h_{l-1}), \qquad \text{logits} = \operatorname{LN}_f(h_L)\, W_{te}^\top$$

Write `GPT.__init__(config)` (the modules, with dlf's names) and `GPT.step(idx, kv_cache=None)`
returning the logits and the grown cache ($p$ = the number of cached positions). $W_{pe}$ is
GPT-2's learned table, one of Module 3's positional encodings: `config.positional` picks
another (`"rope"` rotates each block's queries and keys instead of being added to $h_0$).""",
        plot_text=r"""**Where GPT-2 small's 124 million parameters are**: your `GPT(GPTConfig())`,
built on PyTorch's meta device (shapes only, no memory), its parameters counted by module (the
12 blocks together). The tied output layer adds none; the MLPs hold twice the attention's
weights; a third of the model is the token embedding.""",
        plot="""\
if passes("gpt"):
    import re

    import torch
    from IPython.display import HTML, display

    from dlf.gpt.model import GPTConfig

    gpt = load("gpt")
    with torch.device("meta"):
        model = gpt.GPT(GPTConfig())  # GPT-2 small: 12 layers, 12 heads, C = 768
    counts, shapes = {}, {}
    for name, p in model.named_parameters():  # a tied weight is listed once
        module = re.sub(r"^transformer[.]", "", name.rsplit(".", 1)[0])
        module = re.sub(r"^h[.][0-9]+[.]", "h[0-11].", module)
        counts[module] = counts.get(module, 0) + p.numel()
        shapes.setdefault(module, []).append("x".join(map(str, p.shape)))
    total = sum(counts.values())
    tied = model.lm_head.weight is model.transformer.wte.weight
    rows = "".join(
        f"<tr><td style='text-align:left'><code>{m}</code></td>"
        f"<td style='text-align:left'>{', '.join(dict.fromkeys(shapes[m]))}</td>"
        f"<td style='text-align:right'>{n:,}</td><td style='text-align:right'>{n / total:.1%}"
        "</td></tr>" for m, n in counts.items()
    )
    rows += ("<tr><td style='text-align:left'><code>lm_head</code></td>"
             "<td style='text-align:left'>tied to wte</td>"
             f"<td style='text-align:right'>{'0' if tied else '?'}</td><td></td></tr>")
    display(HTML(
        "<table><tr><th>module</th><th>shapes (per block)</th><th>parameters</th>"
        f"<th>share</th></tr>{rows}<tr><td><b>total</b></td><td></td>"
        f"<td style='text-align:right'><b>{total:,}</b></td><td></td></tr></table>"
    ))
    print(f"total {total:,} (GPT-2 small: 124,439,808); lm_head.weight is wte.weight: {tied}")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    labels = [m + (" (= lm_head)" if m == "wte" and tied else "") for m in counts]
    ax.barh(labels[::-1], [n / 1e6 for n in counts.values()][::-1])
    ax.set_xlabel("millions of parameters")
    ax.set_title("your GPT(GPTConfig()), by module")
    plt.show()
""",
    ),
    "sampling-filters": Section(
        text=r"""Before sampling the next token from $\operatorname{softmax}(z)$, reshape the
distribution: divide by a temperature, keep the $k$ largest logits, or keep the nucleus, the
fewest most probable tokens whose probability reaches $p$ (Holtzman et al. 2020); removed
tokens get $-\infty$:

$$z' = z / T, \qquad \text{top-}k:\ z_i \ge z_{(k)}, \qquad \text{top-}p:\ \text{the first } m
\text{ sorted tokens},\ m = \min\{m : \textstyle\sum_{j \le m} \pi_{(j)} \ge p\}$$

Write `apply_temperature(logits, temperature)`, `top_k_filter(logits, k)` and
`top_p_filter(logits, p)`, on torch tensors $(\dots, V)$, returning new logits.""",
        plot_text=r"""**The distributions your filters leave** over the next word after "the cat
sat on the" (ten candidate words, made-up logits): temperature sharpens ($T < 1$) or flattens
($T > 1$) without removing a word; top-$k$ and top-$p$ cut the tail (grey crosses: probability
exactly 0) and renormalise the rest; the filters compose.""",
        plot="""\
if passes("sampling-filters"):
    import torch

    sf = load("sampling-filters")
    words = ["mat", "floor", "sofa", "bed", "chair", "roof", "dog", "table", "moon", "piano"]
    logits = torch.tensor([3.0, 2.2, 1.9, 1.6, 1.2, 0.6, 0.2, 0.0, -0.8, -1.5])
    panels = {
        "no filter": logits,
        "apply_temperature(z, 0.5)": sf.apply_temperature(logits, 0.5),
        "apply_temperature(z, 2.0)": sf.apply_temperature(logits, 2.0),
        "top_k_filter(z, 3)": sf.top_k_filter(logits, 3),
        "top_p_filter(z, 0.8)": sf.top_p_filter(logits, 0.8),
        "top_p_filter(T = 2, 0.8)": sf.top_p_filter(sf.apply_temperature(logits, 2.0), 0.8),
    }
    fig, axes = plt.subplots(2, 3, figsize=(13, 5.4), sharey=True)
    for ax, (title, z) in zip(axes.flat, panels.items()):
        probs = torch.softmax(z, dim=-1).numpy()
        kept = np.isfinite(z.numpy())
        ax.bar(np.arange(10)[kept], probs[kept])
        ax.plot(np.arange(10)[~kept], np.zeros((~kept).sum()), "x", color="grey")
        ax.set_title(f"{title}: {kept.sum()} kept", fontsize=10)
        ax.set_xticks(range(10), words, rotation=60, fontsize=8)
    axes[0, 0].set_ylabel("probability")
    axes[1, 0].set_ylabel("probability")
    fig.tight_layout()
    plt.show()
""",
    ),
    "beam-search": Section(
        text=r"""Greedy decoding takes the most probable token at each step, but the most
probable sequence may start with a less probable token. Beam search keeps the $W$ best partial
sequences (hypotheses) instead: each step extends every one by every token and keeps the $W$
best of those extensions, by the length-normalised score

$$\log P(y_{1..t}) = \sum_{s \le t} \log p(y_s \mid y_{<s}), \qquad
\text{score} = \frac{\log P(y)}{|y|^{\alpha}} \quad (\alpha: \text{the length penalty})$$

A hypothesis that ends with end-of-sequence stays a candidate, its score unchanged. Width 1 is
greedy. Write `beam_search(step_fn, prompt_ids, beam_width, max_new_tokens, eos_id=None,
length_penalty=1.0, reorder_cache=index_cache)`.""",
        plot_text=r"""**Your beam search on toy language models**: a random bigram table over 6
tokens (the next token's logits depend on the last token only), 8 new tokens, length penalty 0
(the score is $\log P$). Left, one such model: the $\log P$ of the sequence your search returns,
by beam width, against the best of all $6^8$ sequences (found exactly by dynamic programming);
greedy (width 1) misses it. Right, over 40 random models: how often each width finds the
best sequence.""",
        plot="""\
if passes("beam-search"):
    import torch

    bs = load("beam-search")
    torch.set_num_threads(1)
    V, n_new, widths = 6, 8, range(1, 7)

    def bigram_model(seed):
        table = 2.5 * torch.randn(V, V, dtype=torch.float64,
                                  generator=torch.Generator().manual_seed(seed))

        def step_fn(ids, cache):  # the next-token logits depend on the last token only
            return table[ids[:, -1]], None

        return table, step_fn

    def best_possible(table, start):  # the best log P of n_new tokens, by dynamic programming
        log_p = torch.log_softmax(table, dim=-1)
        best = log_p[start]
        for _ in range(n_new - 1):
            best = (best[:, None] + log_p).amax(dim=0)
        return best.max().item()

    def search(step_fn, width):
        return bs.beam_search(step_fn, [0], width, n_new, length_penalty=0.0)

    table, step_fn = bigram_model(29)
    found = [search(step_fn, w).log_prob for w in widths]
    greedy, wide = search(step_fn, 1), search(step_fn, max(widths))
    print("greedy:       ", greedy.ids, f"log P = {greedy.log_prob:.3f}")
    print(f"beam width {max(widths)}: ", wide.ids, f"log P = {wide.log_prob:.3f}")
    hits = np.zeros(len(widths))
    for seed in range(40):
        other, other_step = bigram_model(100 + seed)
        optimum = best_possible(other, 0)
        hits += [search(other_step, w).log_prob >= optimum - 1e-9 for w in widths]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    ax.plot(widths, found, "o-", label="your beam_search")
    ax.axhline(best_possible(table, 0), ls=":", color="grey", label="the best sequence")
    ax.set_xlabel("beam width (1: greedy)")
    ax.set_ylabel("log P of the sequence returned")
    ax.legend()
    ax2.bar(widths, hits / 40)
    ax2.set_xlabel("beam width")
    ax2.set_ylabel("fraction of 40 models")
    ax2.set_title("the best sequence found")
    ax2.set_ylim(0, 1)
    plt.show()
""",
    ),
    "gradient-accumulation": Section(
        text=r"""A batch too large for memory runs as $k$ micro-batches of equal size; PyTorch
adds every backward into `.grad`, so scaling each micro-batch's mean loss by $1/k$ gives the
gradient of the whole batch's mean loss:

$$\nabla_\theta \frac{1}{k}\sum_{m=1}^{k} L_m \;=\; \sum_{m=1}^{k} \nabla_\theta
\frac{L_m}{k} \qquad (L_m: \text{the mean loss of micro-batch } m)$$

Write `accumulate_gradients(model, micro_batches, autocast=contextlib.nullcontext)` returning the
mean loss (and, for a `DistributedDataParallel` model, synchronising on the last micro-batch
only).""",
        plot_text=r"""**Your accumulated gradient against one big batch**: a small MLP, a batch of
64 samples split into $k$ = 1, 2, 4, 8 micro-batches; the largest difference between your
`.grad` and the big batch's gradient, relative to its largest entry. It is rounding only: about
$10^{-7}$ in float32, $10^{-16}$ in float64 (0 is drawn at the bottom). The dotted line is what
forgetting the $1/k$ would give: a gradient $k$ times too large.""",
        plot="""\
if passes("gradient-accumulation"):
    import torch
    from torch import nn

    ga = load("gradient-accumulation")
    torch.set_num_threads(1)

    class MLP(nn.Module):  # model(x, y) -> (output, mean loss), as the training loop wants
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 3))

        def forward(self, x, y):
            out = self.net(x)
            return out, nn.functional.cross_entropy(out, y)

    def flat_grad(model):
        return torch.cat([p.grad.reshape(-1) for p in model.parameters()])

    ks = [1, 2, 4, 8]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for dtype in (torch.float32, torch.float64):
        torch.manual_seed(0)
        model = MLP().to(dtype)
        x, y = torch.randn(64, 10, dtype=dtype), torch.randint(0, 3, (64,))
        model.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        big = flat_grad(model)
        differences = []
        for k in ks:
            model.zero_grad()
            ga.accumulate_gradients(model, list(zip(x.chunk(k), y.chunk(k))))
            diff = (flat_grad(model) - big).abs().max() / big.abs().max()
            differences.append(max(diff.item(), 1e-18))  # 0 drawn at 1e-18
        ax.semilogy(ks, differences, "o-", label=f"your accumulate_gradients, {dtype}")
    ax.semilogy(ks[1:], [k - 1 for k in ks[1:]], "s:", color="grey",
                label="without the 1/k (not your code)")
    ax.set_ylim(1e-19, 1e2)
    ax.set_xticks(ks)
    ax.set_xlabel("k micro-batches (64 samples in all)")
    ax.set_ylabel("max |difference| / max |g|")
    ax.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.36))
    plt.show()
""",
    ),
}


def _source(text: str) -> list[str]:
    return text.strip("\n").splitlines(keepends=True)


def _cell(kind: str, text: str, number: int, module: int) -> dict:
    cell = {
        "cell_type": kind,
        "id": f"m{module}-{number:03d}",
        "metadata": {},
        "source": _source(text),
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def build_notebook(module: int) -> dict:
    """The notebook of path module ``module`` as an nbformat 4.5 dict."""
    from dlf.path.modules import MODULES

    title = next(m.title for m in MODULES if m.number == module)
    parts: list[tuple[str, str]] = [
        ("markdown", INTRO.format(number=module, title=title)),
        ("code", SETUP),
    ]
    for e in sorted(exercises((module,)), key=lambda e: e.number):
        section = SECTIONS.get(e.name, Section(""))
        parts.append(
            (
                "markdown",
                f"## {e.number}. {e.title} (`{e.name}`)\n\n"
                + (section.text.strip() + "\n\n" if section.text else "")
                + f"Edit **`{e.filename}`**, save, then run the next cell to grade it.",
            )
        )
        parts.append(("code", f'grade("{e.name}")'))
        if section.plot:
            parts.append(("markdown", section.plot_text))
            parts.append(("code", section.plot))
    parts.append(("markdown", OUTRO.format(train=TRAIN.get(module, ""))))
    return {
        "cells": [_cell(kind, text, i, module) for i, (kind, text) in enumerate(parts)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebooks() -> dict[str, str]:
    """``{file name in the workspace root: JSON text}`` for every module's notebook."""
    return {
        notebook_name(m): json.dumps(build_notebook(m), indent=1, ensure_ascii=False) + "\n"
        for m in NOTEBOOK_MODULES
    }
