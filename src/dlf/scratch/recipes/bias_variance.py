"""Recipe ``bias-variance``: bias^2, variance and test error against model capacity (the U-curve).

Draw ``resamples`` noisy training sets D_1..D_R of ``regression_1d`` (y = f(x) + eps,
f(x) = sin(2 pi x), eps ~ N(0, sigma^2)), fit one model of each capacity to every set, and
predict on a fixed grid of test inputs x_1..x_M. With ``f_hat_r`` the fit to D_r and
``f_bar = mean_r f_hat_r`` the average fit (Geman et al., 1992; Hastie et al., ESL 7.3):

    bias^2   = mean_x (f_bar(x) - f(x))^2                       (how far the average fit is off)
    variance = mean_x mean_r (f_hat_r(x) - f_bar(x))^2          (how much fits differ between sets)
    error    = mean_x mean_r (y_r(x) - f_hat_r(x))^2,   y_r(x) = f(x) + fresh noise
             ~ bias^2 + variance + sigma^2                      (sigma^2: the irreducible noise)

The first two add up to ``mean (f_hat - f)^2`` exactly; the noise enters through fresh test
labels, so the measured error matches the sum up to Monte-Carlo error, which the report shows.
Two families of growing capacity: polynomials of degree d (least squares on a Legendre basis, with
a small ridge for stability), and one-hidden-layer MLPs of growing width trained by
:func:`dlf.scratch.trainer.fit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.polynomial import legendre

from dlf.data import regression_1d, true_function
from dlf.recipes import Recipe
from dlf.recipes.config import ranged
from dlf.runs import RunDir, line_plot, new_figure
from dlf.scratch.losses import mse
from dlf.scratch.mlp import mlp
from dlf.scratch.optim import Adam
from dlf.scratch.trainer import fit, predict


@dataclass
class BiasVarianceConfig:
    n_train: int = ranged(30, ge=2)  # points per training set
    noise: float = ranged(0.3, gt=0)  # sigma of the label noise
    n_test: int = ranged(200, ge=2)  # test inputs on an even grid of [0, 1]
    resamples: int = ranged(200, ge=2)  # training sets for the polynomials
    degrees: tuple[int, ...] = ranged(tuple(range(13)), ge=0)  # polynomial degrees to fit
    ridge: float = ranged(1e-4, ge=0)  # of the least-squares fits
    mlp_resamples: int = ranged(30, ge=2)  # training sets for the MLPs (each a training run)
    widths: tuple[int, ...] = ranged((1, 2, 4, 8, 16, 64, 256), ge=1)  # hidden widths
    activation: Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu"] = "tanh"
    epochs: int = ranged(2000, ge=1)  # full-batch Adam steps per MLP
    lr: float = ranged(0.01, gt=0)
    seed: int = ranged(0, ge=0)


def bias_variance_decomposition(
    preds: np.ndarray, f: np.ndarray, y_test: np.ndarray, noise_var: float
) -> dict[str, float]:
    """Split the expected squared error of ``R`` fits into bias^2 + variance + noise.

    Shapes: ``preds`` (R, M) predictions of the R fits at M test inputs, ``f`` (M,) the true
    function there, ``y_test`` (R, M) fresh noisy labels (one draw per fit and input). Returns
    ``bias2``, ``variance``, ``error`` (measured on ``y_test``), ``noise`` (= ``noise_var``),
    ``predicted`` = bias2 + variance + noise, and ``stderr``, the standard error of ``error``
    around ``predicted`` (it averages ``eps^2 + 2 eps (f - f_hat)``, zero-mean beyond sigma^2).
    Example: two fits ``[[0, 2]], [[2, 0]]`` of ``f = [1, 1]`` -> bias2 0, variance 1.
    """
    f_bar = preds.mean(axis=0)
    bias2 = float(np.mean((f_bar - f) ** 2))
    variance = float(np.mean((preds - f_bar) ** 2))
    sq = (y_test - preds) ** 2
    eps = y_test - f
    residual = eps**2 + 2 * eps * (f - preds)  # error - (f - f_hat)^2, mean sigma^2
    return {
        "bias2": bias2,
        "variance": variance,
        "noise": noise_var,
        "predicted": bias2 + variance + noise_var,
        "error": float(sq.mean()),
        "stderr": float(residual.std() / np.sqrt(residual.size)),
    }


def fit_polynomials(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, degree: int, ridge: float):
    """Ridge least squares of degree ``degree`` to each of R sets at once; predictions at x_test.

    Features are Legendre polynomials ``P_0..P_d`` of ``t = 2x - 1`` (on [-1, 1] they are far
    better conditioned than monomials); ``w = (Phi^T Phi + ridge I)^(-1) Phi^T y``.
    Shapes: ``x``, ``y`` (R, n), ``x_test`` (M,) -> (R, M).
    """
    phi = legendre.legvander(2 * x - 1, degree)  # (R, n, d+1)
    A = np.einsum("rnd,rne->rde", phi, phi) + ridge * np.eye(degree + 1)
    b = np.einsum("rnd,rn->rd", phi, y)
    w = np.linalg.solve(A, b[..., None])[..., 0]  # (R, d+1)
    return w @ legendre.legvander(2 * x_test - 1, degree).T


def _curves(run_dir, name, rows, xlabel, title, logx=False):
    caps = [r["capacity"] for r in rows]
    fig = line_plot(
        {
            "test error": (caps, [r["error"] for r in rows]),
            "bias^2 + variance + noise": (caps, [r["predicted"] for r in rows]),
            "bias^2": (caps, [r["bias2"] for r in rows]),
            "variance": (caps, [r["variance"] for r in rows]),
            "noise sigma^2": (caps, [r["noise"] for r in rows]),
        },
        xlabel,
        "squared error",
        title,
        logy=True,
        logx=logx,
    )
    best = min(rows, key=lambda r: r["error"])
    fig.axes[0].axvline(best["capacity"], color="gray", linestyle=":")
    run_dir.figure(
        name,
        fig,
        caption=f"{title}; the dotted line marks the lowest test error "
        f"({xlabel} {best['capacity']}).",
    )


def _fits_figure(run_dir, name, x_test, f, preds_by_cap, title):
    fig, axes = new_figure(len(preds_by_cap), 1, size=(2.6, 2.4))
    for ax, (label, preds) in zip(axes[0], preds_by_cap.items(), strict=True):
        for p in preds[:20]:
            ax.plot(x_test, p, color="#4c72b0", alpha=0.25, linewidth=0.8)
        ax.plot(x_test, preds.mean(axis=0), color="#c44e52", linewidth=1.6, label="mean fit")
        ax.plot(x_test, f, color="k", linestyle="--", linewidth=1.2, label="f(x)")
        ax.set_ylim(-2, 2)
        ax.set_title(label, fontsize=9)
    axes[0, 0].legend(fontsize="x-small")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    run_dir.figure(name, fig, caption=title + ": 20 fits (blue), their mean (red), f (dashed).")


def _table_rows(rows):
    return [
        [
            r["capacity"],
            f"{r['bias2']:.4g}",
            f"{r['variance']:.4g}",
            f"{r['noise']:.4g}",
            f"{r['predicted']:.4g}",
            f"{r['error']:.4g}",
            f"{r['error'] - r['predicted']:+.2g}",
            f"{r['stderr']:.2g}",
            abs(r["error"] - r["predicted"]) <= 4 * r["stderr"],
        ]
        for r in rows
    ]


HEADERS = [
    "capacity",
    "bias^2",
    "variance",
    "noise",
    "bias^2+var+noise",
    "test error",
    "difference",
    "std. error",
    "within 4 s.e.",
]


def show_effects(run_dir: RunDir, poly_rows: list, mlp_rows: list, worst: float) -> None:
    """The claims of the recipe, checked on its rows (one dict per capacity, in order)."""
    err = [r["error"] for r in poly_rows]
    best = int(np.argmin(err))
    run_dir.effect(
        "the polynomials' test error traces a U: lowest at a middle degree",
        0 < best < len(err) - 1,
        f"test error {err[0]:.3f} at degree {poly_rows[0]['capacity']}, {err[best]:.3f} at "
        f"degree {poly_rows[best]['capacity']}, {err[-1]:.3f} at degree "
        f"{poly_rows[-1]['capacity']}",
    )
    first, last = poly_rows[0], poly_rows[-1]
    low = min(r["bias2"] for r in poly_rows[1:])  # at the top the estimate carries variance / R
    run_dir.effect(
        "as the degree grows, bias^2 falls and the variance grows",
        first["bias2"] > 5 * low and last["variance"] > 5 * first["variance"],
        f"bias^2 {first['bias2']:.3g} at degree {first['capacity']}, down to {low:.3g}; variance "
        f"{first['variance']:.3g} -> {last['variance']:.3g}",
    )
    run_dir.effect(
        "wider MLPs have a lower bias^2",
        mlp_rows[0]["bias2"] > 5 * mlp_rows[-1]["bias2"],
        f"bias^2 {mlp_rows[0]['bias2']:.3g} at width {mlp_rows[0]['capacity']}, "
        f"{mlp_rows[-1]['bias2']:.3g} at width {mlp_rows[-1]['capacity']}",
    )
    run_dir.effect(
        "the measured test error is bias^2 + variance + noise, up to Monte-Carlo error",
        worst < 4,
        f"every row within {worst:.1f} standard errors",
    )


def run(config: BiasVarianceConfig, run_dir: RunDir) -> dict:
    rng = np.random.default_rng(config.seed)
    x_test = np.linspace(0.0, 1.0, config.n_test)
    f = true_function(x_test)
    noise_var = config.noise**2
    base = 1000 * (config.seed + 1)  # training set r is regression_1d(seed=base + r)
    sets = [
        regression_1d(config.n_train, config.noise, seed=base + r)
        for r in range(max(config.resamples, config.mlp_resamples))
    ]
    X = np.stack([s[0] for s in sets])
    Y = np.stack([s[1] for s in sets])

    # ---- polynomials ----
    run_dir.say(f"polynomials: degrees {list(config.degrees)} x {config.resamples} sets")
    poly_rows, poly_fits = [], {}
    R = config.resamples
    shown = {config.degrees[0], 3, config.degrees[len(config.degrees) // 2], config.degrees[-1]}
    for d in config.degrees:
        preds = fit_polynomials(X[:R], Y[:R], x_test, d, config.ridge)
        y_test = f + config.noise * rng.standard_normal(preds.shape)
        row = {"capacity": d, **bias_variance_decomposition(preds, f, y_test, noise_var)}
        poly_rows.append(row)
        run_dir.log(d, family="polynomial", **row)
        if d in shown:
            poly_fits[f"degree {d}"] = preds
    _curves(
        run_dir,
        "poly_u_curve",
        poly_rows,
        "polynomial degree",
        f"Polynomials: {R} training sets of {config.n_train} points",
    )
    _fits_figure(run_dir, "poly_fits", x_test, f, poly_fits, "Polynomial fits")
    run_dir.table("Polynomials: the decomposition, checked", HEADERS, _table_rows(poly_rows))

    # ---- MLPs of growing width, trained by the shared trainer ----
    mlp_rows, mlp_fits = [], {}
    R = config.mlp_resamples
    t_in, t_test = (2 * X[:R] - 1)[..., None], (2 * x_test - 1)[:, None]
    for w in run_dir.progress(config.widths, total=len(config.widths), desc="widths"):
        run_dir.say(f"MLP width {w}: {R} training runs of {config.epochs} full-batch Adam steps")
        preds, train_losses = np.empty((R, config.n_test)), []
        for r in range(R):
            model = mlp(
                (1, w, 1),
                config.activation,
                init="xavier",
                dtype=np.float64,
                rng=np.random.default_rng(base + r),
            )
            h = fit(
                model,
                mse,
                Adam(config.lr),
                t_in[r],
                Y[r, :, None],
                epochs=config.epochs,
                batch_size=config.n_train,
                rng=np.random.default_rng(base + r),
            )
            h.raise_if_diverged(advice="try a lower lr")
            train_losses.append(h.train_loss[-1])
            preds[r] = predict(model, t_test)[:, 0]
        y_test = f + config.noise * rng.standard_normal(preds.shape)
        row = {
            "capacity": w,
            **bias_variance_decomposition(preds, f, y_test, noise_var),
            "train_loss": float(np.mean(train_losses)),
        }
        mlp_rows.append(row)
        run_dir.log(w, family="mlp", **row)
        mlp_fits[f"width {w}"] = preds
    if len(mlp_fits) > 4:
        keep = [0, len(mlp_fits) // 3, 2 * len(mlp_fits) // 3, len(mlp_fits) - 1]
        mlp_fits = {k: v for i, (k, v) in enumerate(mlp_fits.items()) if i in keep}
    _curves(
        run_dir,
        "mlp_u_curve",
        mlp_rows,
        "hidden width",
        f"MLPs 1-w-1 ({config.activation}): {R} training sets of {config.n_train} points",
        logx=True,
    )
    _fits_figure(run_dir, "mlp_fits", x_test, f, mlp_fits, "MLP fits")
    run_dir.table(
        "MLPs: the decomposition, checked",
        [*HEADERS, "mean train loss"],
        [
            [*row, f"{r['train_loss']:.4g}"]
            for row, r in zip(_table_rows(mlp_rows), mlp_rows, strict=True)
        ],
    )

    all_rows = poly_rows + mlp_rows
    worst = max(abs(r["error"] - r["predicted"]) / r["stderr"] for r in all_rows)
    best_poly = min(poly_rows, key=lambda r: r["error"])
    best_mlp = min(mlp_rows, key=lambda r: r["error"])
    run_dir.text(
        "What this shows",
        f"Low capacity under-fits: the average fit misses f (bias^2 is large) but fits to "
        f"different training sets agree (variance is small). High capacity follows the noise of "
        f"each training set: bias^2 falls, variance grows, and the test error (always above the "
        f"noise floor sigma^2 = {noise_var:.3g}) traces a U with its bottom at degree "
        f"{best_poly['capacity']} for the polynomials. For the MLPs the error is lowest at width "
        f"{best_mlp['capacity']}; wide networks trained by gradient descent from a small "
        f"initialisation fit smooth functions first, so their variance grows much less than the "
        f"polynomials' does. In every row the measured test error equals bias^2 + variance + "
        f"noise to within {worst:.1f} standard errors of its Monte-Carlo estimate (the two top "
        f"curves of each plot coincide). The bias^2 estimate itself carries about variance / R "
        f"of Monte-Carlo noise (R training sets), which is why it creeps up again at the highest "
        f"degrees, where the variance is large.",
    )
    show_effects(run_dir, poly_rows, mlp_rows, worst)
    summary = {
        "poly_degrees": [r["capacity"] for r in poly_rows],
        "poly_bias2": [r["bias2"] for r in poly_rows],
        "poly_variance": [r["variance"] for r in poly_rows],
        "poly_error": [r["error"] for r in poly_rows],
        "poly_best_degree": best_poly["capacity"],
        "mlp_widths": [r["capacity"] for r in mlp_rows],
        "mlp_bias2": [r["bias2"] for r in mlp_rows],
        "mlp_variance": [r["variance"] for r in mlp_rows],
        "mlp_error": [r["error"] for r in mlp_rows],
        "mlp_best_width": best_mlp["capacity"],
        "noise": noise_var,
        "decomposition_max_gap_in_stderr": worst,
        "decomposition_max_relative_gap": max(
            abs(r["error"] - r["predicted"]) / r["predicted"] for r in all_rows
        ),
    }
    return summary


RECIPE = Recipe(
    name="bias-variance",
    module=1,
    description="bias^2, variance and test error against capacity: polynomial degree, MLP width",
    config=BiasVarianceConfig,
    run=run,
    quick={
        "resamples": 100,
        "degrees": (0, 1, 3, 5, 8, 12),
        "mlp_resamples": 6,
        "widths": (1, 4, 32),
        "epochs": 300,
        "lr": 0.03,
    },
    datasets=lambda c: (),
)
