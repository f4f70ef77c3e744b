"""bpcore.lstm: gradient checks of every block, step/sequence agreement, truncation, input errors."""

import numpy as np
import pytest
from truncation import LOSS_STEPS, held_states, losses_at, truncated_objective

from bpcore import lstm
from bpcore.gradcheck import check_gradients, check_vjp

SEEDS = range(6)


def random_problem(seed, *, forget_bias=None):
    """Random sizes, length and parameters (biases random too, so every block gets a nonzero gradient)."""
    rng = np.random.default_rng(seed)
    n, p, B, T = (int(v) for v in rng.integers(1, 5, size=4))
    T += 1
    params = lstm.init_params(n, p, rng, scale=0.8)
    for k in lstm.BIASES:
        params[k] = rng.standard_normal((p, 1)) * 0.5
    if forget_bias is not None:
        params["b_f"][:] = forget_bias
    params["x"] = rng.standard_normal((T, n, B))
    params["h0"] = rng.standard_normal((p, B)) * 0.5
    params["C0"] = rng.standard_normal((p, B))
    return rng, params


def seq_forward(q):
    return lstm.forward(q, q["x"], h0=q["h0"], C0=q["C0"])


@pytest.mark.parametrize("seed", SEEDS)
def test_sequence_backward_passes_vjp_check(seed):
    """All eight weight and bias blocks, h0, C0 and the inputs, with an upstream gradient at every step."""
    rng, params = random_problem(seed)
    report = check_vjp(seq_forward, lstm.backward, params, rng, threshold=1e-8)
    assert report.ok, f"sequence backward is wrong:\n{report}"
    assert {r.name for r in report.rows} == set(lstm.WEIGHTS + lstm.BIASES + ("x", "h0", "C0"))


@pytest.mark.parametrize("seed", SEEDS)
def test_step_backward_passes_vjp_check(seed):
    rng, params = random_problem(seed)
    x = params.pop("x")
    params["x_t"] = x[0]
    params["h_prev"] = params.pop("h0")
    params["C_prev"] = params.pop("C0")

    def forward(q):
        return lstm.step_forward(q, q["x_t"], q["h_prev"], q["C_prev"])

    # step_backward takes the upstream pair shaped like step_forward's output (h_t, C_t): no adapter
    report = check_vjp(forward, lstm.step_backward, params, rng, threshold=1e-8)
    assert report.ok, f"step backward is wrong:\n{report}"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sequence_equals_a_loop_of_steps_forward_and_backward(seed):
    """The fast sequence path is the derivation: same numbers as step_forward/step_backward in a loop."""
    rng, params = random_problem(seed)
    x, h0, C0 = params["x"], params["h0"], params["C0"]
    h, cache = lstm.forward(params, x, h0=h0, C0=C0)
    dh_out = rng.standard_normal(h.shape)
    grads = lstm.backward(dh_out, cache)
    hs, caches, h_t, C_t = [], [], h0, C0
    for t in range(x.shape[0]):
        (h_t, C_t), c = lstm.step_forward(params, x[t], h_t, C_t)
        hs.append(h_t)
        caches.append(c)
    np.testing.assert_allclose(np.stack(hs), h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.stack([c["tanh_C"] for c in caches]), cache["tanh_C"], rtol=1e-12)
    carry_h, carry_C = np.zeros_like(h0), np.zeros_like(C0)
    total = {k: 0.0 for k in lstm.WEIGHTS + lstm.BIASES}
    for t in reversed(range(x.shape[0])):
        delta_h = dh_out[t] + carry_h          # the upstream dh is ADDED to the carried one
        np.testing.assert_allclose(grads["delta_h"][t], delta_h, rtol=1e-10, atol=1e-13)
        g = lstm.step_backward((delta_h, carry_C), caches[t])
        for k in total:
            total[k] = total[k] + g[k]
        np.testing.assert_allclose(grads["x"][t], g["x_t"], rtol=1e-10, atol=1e-13)
        carry_h, carry_C = g["h_prev"], g["C_prev"]
    for k in total:
        np.testing.assert_allclose(grads[k], total[k], rtol=1e-10, atol=1e-13, err_msg=k)
    np.testing.assert_allclose(grads["h0"], carry_h, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(grads["C0"], carry_C, rtol=1e-10, atol=1e-13)


def test_delta_C_and_delta_h_are_total_gradients_of_each_step():
    """delta_C[k] = ∂E/∂C_k and delta_h[k] = ∂E/∂h_k with E = Σ_t w_t · h_t (all later losses included)."""
    rng, params = random_problem(3)
    x, h0, C0 = params["x"], params["h0"], params["C0"]
    h, cache = lstm.forward(params, x, h0=h0, C0=C0)
    T, p, _ = h.shape
    w = rng.standard_normal(h.shape)
    grads = lstm.backward(w, cache)
    for k in range(T):
        o_k = cache["gates"][k][2 * p:3 * p]

        def E_of_C(q, k=k, o_k=o_k):       # perturb C_k: it reaches E through h_k = o_k ⊙ tanh(C_k) and C_{k+1}
            h_k = o_k * np.tanh(q["C"])
            rest, _ = lstm.forward(params, x[k + 1:], h0=h_k, C0=q["C"]) if k + 1 < T else (np.zeros((0,)), None)
            return float(np.sum(w[k] * h_k) + np.sum(rest * w[k + 1:]))

        def E_of_h(q, k=k):                # perturb h_k: its own term and everything after
            rest, _ = (lstm.forward(params, x[k + 1:], h0=q["h"], C0=cache["C"][k]) if k + 1 < T
                       else (np.zeros((0,)), None))
            return float(np.sum(w[k] * q["h"]) + np.sum(rest * w[k + 1:]))

        report = check_gradients(E_of_C, {"C": cache["C"][k]}, {"C": grads["delta_C"][k]})
        assert report.ok, f"delta_C[{k}] is not ∂E/∂C_k:\n{report}"
        report = check_gradients(E_of_h, {"h": h[k]}, {"h": grads["delta_h"][k]})
        assert report.ok, f"delta_h[{k}] is not ∂E/∂h_k:\n{report}"


def test_backward_twice_gives_the_same_gradients():
    rng, params = random_problem(4)
    h, cache = lstm.forward(params, params["x"], h0=params["h0"], C0=params["C0"])
    d = rng.standard_normal(h.shape)
    g1 = lstm.backward(d, cache)
    g2 = lstm.backward(d, cache)
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k], err_msg=f"{k} accumulates across calls")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_truncated_backward(seed):
    rng, params = random_problem(seed)
    x = rng.standard_normal((7, params["x"].shape[1], params["x"].shape[2]))
    h, cache = lstm.forward(params, x, h0=params["h0"], C0=params["C0"])
    d_last = np.zeros_like(h)
    d_last[-1] = rng.standard_normal(h[-1].shape)
    full = lstm.backward(d_last, cache)
    same = lstm.backward(d_last, cache, mode="truncated", k=7)
    for k in full:
        np.testing.assert_allclose(same[k], full[k], rtol=1e-12, err_msg=k)
    cut = lstm.backward(d_last, cache, mode="truncated", k=3)
    # a loss at the last step reaches exactly the last 3 steps
    assert np.all(cut["delta_C"][:4] == 0) and np.all(cut["delta_h"][:4] == 0)
    np.testing.assert_allclose(cut["delta_C"][4:], full["delta_C"][4:], rtol=1e-12)
    assert np.all(cut["h0"] == 0) and np.all(cut["x"][:4] == 0)
    # and the truncated weight gradient is the gradient of the last 3 steps run from the true state
    params3 = {k: params[k] for k in lstm.WEIGHTS + lstm.BIASES}
    h3, cache3 = lstm.forward(params3, x[4:], h0=h[3], C0=cache["C"][3])
    g3 = lstm.backward(d_last[4:], cache3)
    for k in params3:
        np.testing.assert_allclose(cut[k], g3[k], rtol=1e-10, atol=1e-14, err_msg=k)


def lstm_step(x_t, state, q):
    (h, C), _ = lstm.step_forward(q, x_t, state[0], state[1])
    return h, C


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("steps", LOSS_STEPS)
def test_truncation_differentiates_the_stop_gradient_objective(seed, k, steps):
    """With losses at some steps, truncate=k is the exact gradient of Σ_t ⟨δh_t, h_t⟩ where each h_t is
    recomputed over its last k steps from the (h, C) of step t-k held constant, as for the RNN."""
    rng, params = random_problem(seed)
    x, h0, C0 = params["x"], params["h0"], params["C0"]
    h, cache = lstm.forward(params, x, h0=h0, C0=C0)
    d = losses_at(rng.standard_normal(h.shape), steps, rng)
    g = lstm.backward(d, cache, mode="truncated", k=k)
    held = held_states(lstm_step, params, x, (h0, C0))
    wrt = {key: params[key] for key in lstm.WEIGHTS + lstm.BIASES} | {"x": x, "h0": h0, "C0": C0}

    def objective(q):
        return truncated_objective(lstm_step, q, q["x"], (q["h0"], q["C0"]), held, d, k, readout=lambda s: s[0])

    # step 1e-3: one loss leaves some blocks' gradients near 1e-5, where the round-off of a 1e-4 stencil
    # (~1e-12) is 1e-8 of them; the fourth-order stencil's own error at 1e-3 is still ~1e-12
    report = check_gradients(objective, wrt, {key: g[key] for key in wrt}, threshold=1e-8, step=1e-3)
    assert report.ok, f"truncate={k} is not the gradient of the truncated objective:\n{report}"
    if k < x.shape[0] and steps == "every step":   # and it is a different (biased) gradient from the full one
        assert not np.allclose(g["W_f"], lstm.backward(d, cache)["W_f"])


LOSS_CASES = [
    ("cross_entropy", "last"), ("cross_entropy", "all"), ("squared_error", "last"), ("squared_error", "all"),
]


@pytest.mark.parametrize("loss,readout", LOSS_CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_loss_and_grads_pass_gradient_check(loss, readout, seed):
    rng = np.random.default_rng(seed)
    n, p, B, T, K = 3, 4, 3, 5, 3
    params = lstm.init_params(n, p, rng, n_z=K, scale=0.8)
    params["b_z"] = rng.standard_normal((K, 1))
    x = rng.standard_normal((T, n, B))
    if loss == "cross_entropy":
        y = rng.integers(0, K, B) if readout == "last" else rng.integers(0, K, (T, B))
    else:
        y = rng.standard_normal((K, B)) if readout == "last" else rng.standard_normal((T, K, B))
    E, grads = lstm.loss_and_grads(params, x, y, loss=loss)
    assert set(grads) == set(params)
    # step 1e-3: the loss is a batch mean of size ~1, so its round-off (1e-16/step) must stay small
    # next to gradients of order 1e-3 (fourth-order differences keep the truncation error at ~1e-12)
    report = check_gradients(lambda q: lstm.loss_and_grads(q, x, y, loss=loss)[0],
                             params, grads, threshold=1e-8, step=1e-3)
    assert report.ok, f"{loss}/{readout}:\n{report}"
    _, _, info = lstm.loss_and_grads(params, x, y, loss=loss, details=True)
    assert info["delta_C"].shape == (T, p, B) and info["delta_h"].shape == (T, p, B)
    z = lstm.predict(params, x, loss=loss)
    np.testing.assert_allclose(z[-1] if readout == "last" else z, info["z"])


def test_forget_bias_initialisation_and_float32():
    rng = np.random.default_rng(0)
    params = lstm.init_params(2, 3, rng, forget_bias=3.0, dtype=np.float32)
    assert np.all(params["b_f"] == 3.0) and np.all(params["b_i"] == 0)
    assert params["W_f"].shape == (3, 5) and params["W_f"].dtype == np.float32
    h, cache = lstm.forward(params, rng.standard_normal((4, 2, 2)))
    assert h.dtype == np.float32
    f = cache["gates"][:, :3]
    assert np.all(f > 0.8) and f.mean() > 0.9, "σ(3 + small) should start near 1"
    g = lstm.backward(np.ones_like(h), cache)
    assert g["W_f"].dtype == np.float32


def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(0)
    params = lstm.init_params(2, 3, rng, n_z=2)
    x = rng.standard_normal((4, 2, 5))
    with pytest.raises(ValueError, match=r"'x'.*\(4, 5\)"):
        lstm.forward(params, rng.standard_normal((4, 5)))          # missing the batch axis
    with pytest.raises(ValueError, match=r"'x'.*axis 1 \('n'\) has size 3"):
        lstm.forward(params, rng.standard_normal((4, 3, 5)))       # n does not match W_f's columns
    bad = x.copy()
    bad[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="'x': contains 1 NaN"):
        lstm.forward(params, bad)
    with pytest.raises(ValueError, match=r"'h0'.*'B' = 5"):
        lstm.forward(params, x, h0=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"'C0'.*'p'"):
        lstm.forward(params, x, C0=np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"missing key\(s\) \['W_o'\]"):
        lstm.forward({k: v for k, v in params.items() if k != "W_o"}, x)
    with pytest.raises(ValueError, match=r"params\['b_i'\]"):
        lstm.forward(params | {"b_i": np.zeros((3,))}, x)
    with pytest.raises(ValueError, match="at least one input column"):
        lstm.forward(params | {k: params[k][:, :3] for k in lstm.WEIGHTS}, x)
    with pytest.raises(ValueError, match=r"at least one of its time steps"):
        lstm.forward(params, x[:0])
    h, cache = lstm.forward(params, x)
    with pytest.raises(ValueError, match=r"'dout'.*'T' = 4"):
        lstm.backward(np.ones((3, 3, 5)), cache)
    with pytest.raises(ValueError, match="'k'"):
        lstm.backward(np.ones_like(h), cache, mode="truncated", k=0)
    with pytest.raises(TypeError, match="'rng'"):
        lstm.init_params(2, 3, 0)
    with pytest.raises(ValueError, match="'n_h'"):
        lstm.init_params(2, 0, rng)
    with pytest.raises(ValueError, match="unknown loss"):
        lstm.loss_and_grads(params, x, np.zeros(5, int), loss="hinge")
    with pytest.raises(ValueError, match="missing output layer"):
        lstm.loss_and_grads({k: params[k] for k in lstm.WEIGHTS + lstm.BIASES}, x, np.zeros(5, int))
    with pytest.raises(ValueError, match="out of range"):
        lstm.loss_and_grads(params, x, np.full(5, 7))
    with pytest.raises(ValueError, match=r"argument 'y': expected shape \(5,\) for a target at the last step"):
        lstm.loss_and_grads(params, x, np.zeros((3, 5), int))
    (_, _), step_cache = lstm.step_forward(params, x[0], np.zeros((3, 5)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"'dout\[1\]'"):
        lstm.step_backward((np.zeros((3, 5)), np.zeros((3, 4))), step_cache)
    with pytest.raises(ValueError, match=r"'x_t'"):
        lstm.step_forward(params, x[0][:1], np.zeros((3, 5)), np.zeros((3, 5)))


# ---------------------------------------------------------------- randomized truncation (the RNN's modes)

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_randomized_estimator_matches_explicit_weights_per_path(seed):
    """As for the RNN: the contribution of loss t reaching back to step j is weighted by ∏_{i=j+1}^{t} ξ_i,
    with ξ_i scaling both edges (h and C) from step i-1 into step i."""
    rng, params = random_problem(seed)
    h, cache = lstm.forward(params, params["x"], h0=params["h0"], C0=params["C0"])
    T = h.shape[0]
    dh = rng.standard_normal(h.shape)
    xi = lstm.draw_xi(T, 0.5, np.random.default_rng(seed + 10))
    got = lstm.backward(dh, cache, mode="randomized", xi=xi)
    for key in ("W_f", "W_c", "b_o"):
        expected = np.zeros_like(got[key])
        for t in range(T):                                   # loss at array index t, alone
            single = np.zeros_like(dh)
            single[t] = dh[t]
            per_lag = [lstm.backward(single, cache, mode="truncated", k=m)[key] for m in range(1, t + 2)]
            for j in range(t + 1):
                part = per_lag[t - j] - (per_lag[t - j - 1] if t - j > 0 else 0)
                expected += np.prod(xi[j + 1:t + 1]) * part
        np.testing.assert_allclose(got[key], expected, rtol=1e-10, atol=1e-12, err_msg=key)


def test_randomized_limits_are_full_and_k1():
    rng, params = random_problem(3)
    h, cache = lstm.forward(params, params["x"], h0=params["h0"], C0=params["C0"])
    dh = rng.standard_normal(h.shape)
    T = h.shape[0]
    full, cut = lstm.backward(dh, cache), lstm.backward(dh, cache, mode="truncated", k=1)
    ones = lstm.backward(dh, cache, mode="randomized", xi=np.ones(T))
    zeros = lstm.backward(dh, cache, mode="randomized", xi=np.zeros(T))
    pi_one = lstm.backward(dh, cache, mode="randomized", pi=1.0, rng=np.random.default_rng(0))
    for key in lstm.WEIGHTS + lstm.BIASES + ("x", "h0", "C0"):
        np.testing.assert_allclose(ones[key], full[key], rtol=1e-12, atol=1e-14, err_msg=key)
        np.testing.assert_allclose(pi_one[key], full[key], rtol=1e-12, atol=1e-14, err_msg=key)
        if key not in ("h0", "C0"):     # ξ_1 = 0 also cuts the edge from the initial state, which k = 1 keeps
            np.testing.assert_allclose(zeros[key], cut[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert np.all(zeros["h0"] == 0) and np.all(zeros["C0"] == 0)


def test_randomized_truncation_is_unbiased():
    """The mean over many draws approaches the full gradient: its error shrinks like 1/sqrt(draws)."""
    rng, params = random_problem(4)
    params["x"] = rng.standard_normal((8,) + params["x"].shape[1:])
    h, cache = lstm.forward(params, params["x"], h0=params["h0"], C0=params["C0"])
    dh = rng.standard_normal(h.shape)
    full = lstm.backward(dh, cache)["W_f"]
    draw_rng = np.random.default_rng(5)
    samples = np.stack([lstm.backward(dh, cache, mode="randomized", pi=0.7, rng=draw_rng)["W_f"]
                        for _ in range(400)])
    z = np.abs(samples.mean(axis=0) - full) / (samples.std(axis=0) / np.sqrt(len(samples)) + 1e-12)
    assert np.max(z) < 5, f"randomized LSTM truncation looks biased (max z-score {np.max(z):.1f})"
    biased = lstm.backward(dh, cache, mode="truncated", k=2)["W_f"]
    assert not np.allclose(biased, full)


@pytest.mark.parametrize("seed", [0, 1])
def test_float32_matches_float64_to_float32_precision(seed):
    """The same problem in float32 and float64: outputs and every gradient agree to float32 round-off."""
    B, T, n, p = 8, 30, 5, 16
    rng = np.random.default_rng(seed)
    p64 = lstm.init_params(n, p, rng)
    x = rng.standard_normal((T, n, B))
    dh = rng.standard_normal((T, p, B))
    p32 = {k: v.astype(np.float32) for k, v in p64.items()}
    h64, c64 = lstm.forward(p64, x)
    h32, c32 = lstm.forward(p32, x.astype(np.float32))
    assert h32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=0, atol=1e-5)
    g64, g32 = lstm.backward(dh, c64), lstm.backward(dh.astype(np.float32), c32)
    for k in lstm.WEIGHTS + lstm.BIASES + ("x", "h0", "C0", "delta_h", "delta_C"):
        assert g32[k].dtype == np.float32, k
        scale = np.abs(g64[k]).max()
        assert np.abs(g32[k] - g64[k]).max() <= 1e-5 * max(scale, 1.0) * np.sqrt(T), k
