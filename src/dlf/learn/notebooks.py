"""The workspace notebooks: one per path module, graded by dlf (CS231n's assignment notebooks).

``dlf learn init`` writes ``1-foundations.ipynb`` and ``2-convnets.ipynb`` into the workspace
root. Per exercise, in path order: what to write (the equation and the file), a cell that grades
it (:func:`dlf.learn.notebook.grade`), and where it teaches something a plot drawn from the
learner's own code (:func:`dlf.learn.notebook.load`), run only once the exercise passes.

The notebooks are plain JSON in nbformat 4.5, written with :mod:`json`: writing them needs no
Jupyter; running them needs a Jupyter kernel in the Python where ``dlf`` is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dlf.learn.catalog import exercises
from dlf.learn.exercise import MODULE_FOLDERS

NOTEBOOK_MODULES = (1, 2)


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
}

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
    for e in exercises((module,)):
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
