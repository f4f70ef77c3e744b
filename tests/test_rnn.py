"""bpcore.rnn: gradient checks of the tanh RNN and the linear RNN, every BPTT mode, bad input."""

import math

import numpy as np
import pytest
from truncation import LOSS_STEPS, held_states, losses_at, truncated_objective

from bpcore import rnn
from bpcore.gradcheck import check_gradients, check_vjp
from bpcore.rnn import _bptt_full, _bptt_truncated

SEEDS = [0, 1, 2, 3]


def random_problem(seed, *, linear=False, radius=None):
    """Random sizes, length and data for one seed."""
    rng = np.random.default_rng(seed)
    T, n_x, n_h, n_z, B = (int(rng.integers(lo, hi)) for lo, hi in ((2, 9), (1, 5), (1, 6), (2, 5), (1, 4)))
    if linear:
        p = rnn.init_linear_params(n_x, n_h, rng, n_q=n_z, spectral_radius=radius or 0.9)
    else:
        p = rnn.init_params(n_x, n_h, rng, n_z=n_z, spectral_radius=radius or 1.1)
        p["b_h"] = 0.3 * rng.standard_normal(p["b_h"].shape)
        p["b_z"] = 0.3 * rng.standard_normal(p["b_z"].shape)
    x = rng.standard_normal((T, n_x, B))
    h0 = 0.5 * rng.standard_normal((n_h, B))
    y = rng.integers(0, n_z, size=(T, B))
    return rng, p, x, h0, y


def recurrent(p):
    return {k: p[k] for k in rnn.RECURRENT_KEYS}


# ---------------------------------------------------------------- full BPTT

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("targets", ["every step", "last step"])
def test_full_bptt_loss_gradients(seed, targets):
    rng, p, x, h0, y = random_problem(seed)
    if targets == "last step":
        y = y[-1]
    loss, grads, info = rnn.loss_and_grads(p, x, y, h0=h0, details=True)
    assert set(grads) == set(p)
    report = check_gradients(lambda q: rnn.loss_and_grads(q, x, y, h0=h0)[0], p, grads, threshold=1e-8)
    assert report.ok, f"full BPTT gradient is wrong:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_sequence_backward_is_the_vjp_including_inputs_and_h0(seed):
    rng, p, x, h0, _ = random_problem(seed)
    params = {**recurrent(p), "x": x, "h0": h0}
    report = check_vjp(lambda q: rnn.forward(q, q["x"], h0=q["h0"]), rnn.backward, params, rng, threshold=1e-8)
    assert report.ok, f"sequence backward is wrong:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_rnn_full_bptt(seed):
    rng, p, x, h0, _ = random_problem(seed, linear=True)
    params = {**p, "x": x, "h0": h0}
    report = check_vjp(lambda q: rnn.linear_forward(q, q["x"], h0=q["h0"]), rnn.linear_backward, params, rng,
                       threshold=1e-8)
    assert report.ok, f"linear RNN backward is wrong:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_rnn_dh_is_the_sum_of_powers_of_W_hh_transposed(seed):
    """∂L/∂h_t = Σ_{i=t}^{T} (W_hhᵀ)^{i-t} W_qhᵀ ∂L/∂o_i (seed 001, restored)."""
    rng, p, x, h0, _ = random_problem(seed, linear=True)
    o, cache = rnn.linear_forward(p, x, h0=h0)
    do = rng.standard_normal(o.shape)
    g = rnn.linear_backward(do, cache)
    T = x.shape[0]
    for t in range(T):
        closed = sum(np.linalg.matrix_power(p["W_hh"].T, i - t) @ p["W_qh"].T @ do[i] for i in range(t, T))
        np.testing.assert_allclose(g["delta_h"][t], closed, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_step_functions(seed):
    rng, p, x, h0, _ = random_problem(seed)
    params = {**recurrent(p), "x_t": x[0], "h_prev": h0}
    report = check_vjp(lambda q: rnn.step_forward(q, q["x_t"], q["h_prev"]), rnn.step_backward, params, rng)
    assert report.ok, f"step_backward is wrong:\n{report}"
    h = np.tanh(rng.standard_normal(h0.shape))
    params = {"W_hz": p["W_hz"], "b_z": p["b_z"], "h_t": h}
    report = check_vjp(lambda q: rnn.output_forward(q, q["h_t"]), rnn.output_backward, params, rng)
    assert report.ok, f"output_backward is wrong:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_fast_sequence_equals_a_loop_of_readable_steps(seed):
    """The classic bug: each step must receive its own dh ADDED to the carried dh_next."""
    rng, p, x, h0, _ = random_problem(seed)
    h, cache = rnn.forward(p, x, h0=h0)
    caches, hp = [], h0
    for t in range(x.shape[0]):
        hp, c = rnn.step_forward(p, x[t], hp)
        np.testing.assert_allclose(hp, h[t], rtol=1e-13, atol=1e-15)
        caches.append(c)
    dh = rng.standard_normal(h.shape)
    fast = rnn.backward(dh, cache)
    carry = np.zeros_like(h0)
    total = {k: 0.0 for k in rnn.RECURRENT_KEYS}
    for t in reversed(range(x.shape[0])):
        g = rnn.step_backward(dh[t] + carry, caches[t])
        carry = g["h_prev"]
        total = {k: total[k] + g[k] for k in total}
        np.testing.assert_allclose(fast["x"][t], g["x_t"], rtol=1e-12, atol=1e-14)
    for k in total:
        np.testing.assert_allclose(fast[k], total[k], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fast["h0"], carry, rtol=1e-12, atol=1e-14)


def test_backward_does_not_accumulate_and_leaves_inputs_alone():
    rng, p, x, h0, y = random_problem(5)
    h, cache = rnn.forward(p, x, h0=h0)
    dh = rng.standard_normal(h.shape)
    dh_copy = dh.copy()
    first = rnn.backward(dh, cache)
    second = rnn.backward(dh, cache)
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])
    np.testing.assert_array_equal(dh, dh_copy)
    _, g1 = rnn.loss_and_grads(p, x, y, h0=h0)
    _, g2 = rnn.loss_and_grads(p, x, y, h0=h0)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k])


def test_float32_is_accepted_and_kept():
    rng, p, x, h0, y = random_problem(6)
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    h, cache = rnn.forward(p32, x.astype(np.float32), h0=h0.astype(np.float32))
    assert h.dtype == np.float32
    g = rnn.backward(np.ones_like(h), cache)
    assert g["W_hh"].dtype == np.float32
    h64, _ = rnn.forward(p, x, h0=h0)
    np.testing.assert_allclose(h, h64, rtol=1e-4, atol=1e-5)


def test_init_sets_the_spectrum():
    from bpcore.diagnostics import singular_values, spectral_radius
    rng = np.random.default_rng(0)
    assert spectral_radius(rnn.init_params(3, 8, rng, n_z=2, spectral_radius=1.3)["W_hh"]) == pytest.approx(1.3)
    assert singular_values(rnn.init_params(3, 8, rng, n_z=2, sigma_max=0.7)["W_hh"])[0] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="not both"):
        rnn.init_params(3, 8, rng, n_z=2, spectral_radius=1.0, sigma_max=1.0)


# ---------------------------------------------------------------- truncated BPTT

def tanh_step(x_t, h, p):
    return np.tanh(p["W_hh"] @ h + p["W_xh"] @ x_t + p["b_h"])


def linear_step(x_t, h, p):
    return p["W_hh"] @ h + p["W_hx"] @ x_t


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("steps", LOSS_STEPS)
def test_truncated_bptt_differentiates_the_stop_gradient_objective(seed, k, steps):
    rng, p, x, h0, _ = random_problem(seed)
    T = x.shape[0]
    h, cache = rnn.forward(p, x, h0=h0)
    dh = losses_at(rng.standard_normal(h.shape), steps, rng)
    g = rnn.backward(dh, cache, mode="truncated", k=k)
    params = {**recurrent(p), "x": x, "h0": h0}
    held = held_states(tanh_step, p, x, h0)

    def objective(q):
        # the inputs enter each window directly; h0 only when a window reaches the start
        return truncated_objective(tanh_step, q, q["x"], q["h0"], held, dh, k)

    report = check_gradients(objective, params, {key: g[key] for key in params}, threshold=1e-8)
    assert report.ok, f"truncated BPTT (k={k}, T={T}) is not the gradient of the truncated objective:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_truncated_linear_rnn(seed):
    rng, p, x, h0, _ = random_problem(seed, linear=True)
    o, cache = rnn.linear_forward(p, x, h0=h0)
    do = rng.standard_normal(o.shape)
    k = 2
    g = rnn.linear_backward(do, cache, mode="truncated", k=k)
    dh = np.einsum("qh,tqb->thb", p["W_qh"], do)          # ⟨do, W_qh h⟩ = ⟨W_qhᵀ do, h⟩
    rec = {"W_hx": p["W_hx"], "W_hh": p["W_hh"]}
    held = held_states(linear_step, p, x, h0)
    report = check_gradients(lambda q: truncated_objective(linear_step, q, x, h0, held, dh, k), rec,
                             {key: g[key] for key in rec}, threshold=1e-8)
    assert report.ok, f"truncated linear BPTT is wrong:\n{report}"


@pytest.mark.parametrize("seed", SEEDS)
def test_truncation_at_or_beyond_T_is_exactly_full(seed):
    rng, p, x, h0, y = random_problem(seed)
    T = x.shape[0]
    h, cache = rnn.forward(p, x, h0=h0)
    dh = rng.standard_normal(h.shape)
    full = rnn.backward(dh, cache)
    for k in (T, T + 3):
        trunc = rnn.backward(dh, cache, mode="truncated", k=k)
        for key in full:
            np.testing.assert_array_equal(trunc[key], full[key])
    # the lag-sum algorithm itself, run with k = T, agrees with the recursion to rounding
    for a, b in zip(_bptt_truncated(dh, h, p["W_hh"], T), _bptt_full(dh, h, p["W_hh"])):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    if T > 1:  # and a real truncation is a different (biased) gradient
        short = rnn.backward(dh, cache, mode="truncated", k=1)
        assert not np.allclose(short["W_hh"], full["W_hh"])


def test_truncation_k1_equals_cutting_every_edge():
    rng, p, x, h0, y = random_problem(7)
    h, cache = rnn.forward(p, x, h0=h0)
    dh = rng.standard_normal(h.shape)
    a = rnn.backward(dh, cache, mode="truncated", k=1)
    b = rnn.backward(dh, cache, mode="randomized", xi=np.zeros(x.shape[0]))
    for key in ("W_xh", "W_hh", "b_h", "x"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- randomized truncation

def z_bound(n_entries, alpha=1e-4):
    """Two-sided normal quantile with a Bonferroni correction over ``n_entries`` compared entries."""
    target = alpha / n_entries
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erfc(mid / math.sqrt(2)) > target else (lo, mid)
    return hi


def estimator_z_scores(estimate, full, draws):
    """|mean − full| / (sample std / √N) per entry, over ``draws`` estimates of ``full``."""
    samples = np.stack([estimate() for _ in range(draws)])
    mean, sd = samples.mean(axis=0), samples.std(axis=0, ddof=1)
    se = sd / np.sqrt(draws)
    ok = se > 1e-12 * (np.abs(full).max() + 1e-300)       # entries with no randomness must match exactly
    np.testing.assert_allclose(mean[~ok], full[~ok], rtol=1e-9, atol=1e-12)
    return np.abs(mean[ok] - full[ok]) / se[ok], np.linalg.norm(mean - full) / np.linalg.norm(full)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("pi", [0.3, 0.7])
def test_randomized_truncation_is_unbiased(seed, pi):
    rng = np.random.default_rng(100 + seed)
    T, n_x, n_h, B = 12, 2, 3, 1
    p = rnn.init_params(n_x, n_h, rng, n_z=2, spectral_radius=1.0)
    x = rng.standard_normal((T, n_x, B))
    h, cache = rnn.forward(p, x)
    dh = rng.standard_normal(h.shape)
    full = rnn.backward(dh, cache)["W_hh"]
    draw_rng = np.random.default_rng(seed)
    est = lambda: rnn.backward(dh, cache, mode="randomized", pi=pi, rng=draw_rng)["W_hh"]
    z_small, err_small = estimator_z_scores(est, full, 200)
    z, err = estimator_z_scores(est, full, 4000)
    bound = z_bound(full.size)
    assert z.max() < bound, f"randomized truncation looks biased: max z = {z.max():.2f} >= {bound:.2f}"
    assert err < err_small, f"mean did not approach the full gradient: {err_small:.3g} -> {err:.3g}"


def test_the_unbiasedness_test_detects_a_biased_estimator():
    """The z-score test above has power: a truncated gradient plus noise of the same size fails it."""
    rng = np.random.default_rng(11)
    T = 12
    p = rnn.init_params(2, 3, rng, n_z=2, spectral_radius=1.0)
    h, cache = rnn.forward(p, rng.standard_normal((T, 2, 1)))
    dh = rng.standard_normal(h.shape)
    full = rnn.backward(dh, cache)["W_hh"]
    trunc = rnn.backward(dh, cache, mode="truncated", k=2)["W_hh"]
    noise_rng = np.random.default_rng(0)
    est = lambda: trunc + np.abs(full - trunc).max() * noise_rng.standard_normal(full.shape)
    z, _ = estimator_z_scores(est, full, 4000)
    assert z.max() > z_bound(full.size)


def test_randomized_with_pi_1_is_full_and_draws_are_reproducible():
    rng, p, x, h0, _ = random_problem(8)
    h, cache = rnn.forward(p, x, h0=h0)
    dh = rng.standard_normal(h.shape)
    full = rnn.backward(dh, cache)
    one = rnn.backward(dh, cache, mode="randomized", pi=1.0, rng=np.random.default_rng(0))
    for key in full:
        np.testing.assert_array_equal(one[key], full[key])
    a = rnn.backward(dh, cache, mode="randomized", pi=0.5, rng=np.random.default_rng(3))
    b = rnn.backward(dh, cache, mode="randomized", pi=0.5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a["W_hh"], b["W_hh"])
    xi = rnn.draw_xi(10000, 0.25, np.random.default_rng(0))
    assert set(np.unique(xi)) == {0.0, 4.0}
    assert abs(xi.mean() - 1) < 5 * xi.std() / 100


@pytest.mark.parametrize("seed", [0, 1])
def test_randomized_estimator_matches_explicit_weights_per_path(seed):
    """Contribution of loss t through step j is weighted by ∏_{i=j+1}^{t} ξ_i."""
    rng, p, x, h0, _ = random_problem(seed)
    T = x.shape[0]
    h, cache = rnn.forward(p, x, h0=h0)
    dh = rng.standard_normal(h.shape)
    xi = rnn.draw_xi(T, 0.5, np.random.default_rng(seed))
    got = rnn.backward(dh, cache, mode="randomized", xi=xi)["W_hh"]
    expected = np.zeros_like(got)
    for t in range(T):                                   # loss at array index t, alone
        single = np.zeros_like(dh)
        single[t] = dh[t]
        per_lag = [rnn.backward(single, cache, mode="truncated", k=m)["W_hh"] for m in range(1, t + 2)]
        for j in range(t + 1):                           # path reaching back to array index j: lag t - j
            part = per_lag[t - j] - (per_lag[t - j - 1] if t - j > 0 else 0)
            expected += np.prod(xi[j + 1:t + 1]) * part
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- bad input

def test_bad_input_is_refused_with_clear_errors():
    rng, p, x, h0, y = random_problem(9)
    T, n_x, B = x.shape
    h, cache = rnn.forward(p, x, h0=h0)
    dh = np.ones_like(h)
    with pytest.raises(ValueError, match=r"argument 'h0'.*'B'"):
        rnn.forward(p, x, h0=np.zeros((h0.shape[0], B + 1)))
    with pytest.raises(ValueError, match=r"argument 'x'.*'n_x'"):
        rnn.forward(p, np.zeros((T, n_x + 1, B)), h0=h0)
    with pytest.raises(ValueError, match=r"argument 'x': expected shape \(T, n_x, B\)"):
        rnn.forward(p, np.zeros((n_x, B)), h0=h0)
    with pytest.raises(ValueError, match=r"argument 'dout': expected shape"):
        rnn.backward(np.ones((T + 1,) + h.shape[1:]), cache)
    with pytest.raises(ValueError, match=r"argument 'y': expected shape \(1,\) for a target at the last step"):
        rnn.loss_and_grads(p, x, np.zeros((T + 1, B), int), h0=h0)
    with pytest.raises(ValueError, match=r"argument 'k': expected a value in \[1, inf\)"):
        rnn.backward(dh, cache, mode="truncated", k=0)
    with pytest.raises(ValueError, match=r"argument 'k'"):
        rnn.backward(dh, cache, mode="truncated", k=-2)
    with pytest.raises(ValueError, match=r"argument 'k': expected an integer"):
        rnn.backward(dh, cache, mode="truncated", k=1.5)
    with pytest.raises(ValueError, match=r"needs the truncation length"):
        rnn.backward(dh, cache, mode="truncated")
    for bad_pi in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"argument 'pi'"):
            rnn.backward(dh, cache, mode="randomized", pi=bad_pi, rng=rng)
    with pytest.raises(ValueError, match=r"needs 'pi'"):
        rnn.backward(dh, cache, mode="randomized", pi=0.5)
    with pytest.raises(ValueError, match=r"argument 'rng'"):
        rnn.draw_xi(5, 0.5, 42)
    with pytest.raises(ValueError, match=r"argument 'mode'"):
        rnn.backward(dh, cache, mode="partial")
    with pytest.raises(ValueError, match=r"argument 'cache'"):
        rnn.backward(dh, {"hs": 1})
    with pytest.raises(ValueError, match=r"argument 'cache'"):
        rnn.linear_backward(dh, cache)
    with pytest.raises(ValueError, match=r"argument 'xi'"):
        rnn.backward(dh, cache, mode="randomized", xi=np.ones(T + 1))


def test_nan_is_refused():
    rng, p, x, h0, y = random_problem(10)
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"argument 'x': contains 1 NaN"):
        rnn.forward(p, bad, h0=h0)
    with pytest.raises(ValueError, match=r"argument 'params\['W_hh'\]': contains"):
        rnn.loss_and_grads({**p, "W_hh": p["W_hh"] * np.inf}, x, y, h0=h0)
    h, cache = rnn.forward(p, x, h0=h0)
    dh = np.zeros_like(h)
    dh[-1, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"argument 'dout': contains"):
        rnn.backward(dh, cache)
    with pytest.raises(ValueError, match=r"argument 'h0': contains"):
        rnn.linear_forward(rnn.init_linear_params(x.shape[1], h0.shape[0], rng, n_q=2), x, h0=np.full_like(h0, np.nan))
    with pytest.raises(ValueError, match=r"argument 'dout'"):
        _, c = rnn.step_forward(p, x[0], h0)
        rnn.step_backward(np.full_like(h0, np.nan), c)
