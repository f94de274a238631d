"""Parallel scans in plain PyTorch for TRAINING the demo zoo's Mamba layers.

Without mamba_ssm's CUDA kernels, transformers falls back to reference implementations that loop over tokens in
Python (Mamba-1: 2.5 s per step of 32 x 512 tokens on an H200; Mamba-2: 0.57 s). These replace only the scan
inside each mixer's forward, reusing the mixer's own modules (in_proj, conv1d, x_proj, dt_proj, norm, out_proj)
and parameters, so the trained weights are the model's own. `patch_mixers` checks the patched forward against
the original on random input before training and keeps the original where they differ; `unpatch_mixers` puts
the originals back for generation and export (the patched forward ignores caches).
"""
import types

import torch
import torch.nn.functional as F


def _chunk_inputs(delta, A, B, u, min_log_decay: float):
    """Per chunk (see selective_scan_chunked): the chunk's own contribution to each state and the cumulative
    log decay. delta, u: [b, nc, c, I]; B: [b, nc, c, N]. Returns inner, cum [b, nc, c, I, N]."""
    log_decay = (delta[..., None] * A).clamp(min=min_log_decay)
    cum = log_decay.cumsum(2)
    c = cum.shape[2]
    ref = cum[:, :, c // 2 - 1:c // 2]
    x = (delta * u)[..., None] * B[:, :, :, None, :]
    inner = torch.exp(cum - ref) * torch.cumsum(torch.exp(ref - cum) * x, dim=2)
    return inner, cum


def _chunk_outputs(inner, cum, carry, C):
    """y [b, nc, c, I] = sum_n C * (inner + exp(cum) * carry), carry [b, nc, I, N] the state entering a chunk."""
    return ((inner + torch.exp(cum) * carry[:, :, None]) * C[:, :, :, None, :]).sum(-1)


# the two element-wise halves of the scan, fused by torch.compile when patch_mixers finds that faster
_kernels = {"inputs": _chunk_inputs, "outputs": _chunk_outputs}
# the scan _mamba1_forward calls: selective_scan_chunked, or triton_scan's kernels when use_triton_scan keeps them
_scan = {}


def selective_scan_chunked(u, delta, A, B, C, chunk=8, min_log_decay=-11.0):
    """Mamba-1 scan without a loop over tokens.

    u, delta: [b, L, I]; A: [I, N] (negative); B, C: [b, L, N]. Returns y [b, L, I] with
      h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t   (h_0 = 0),   y_t = sum_n C_t,n h_t,n.
    Inside a chunk of c tokens, with cum_t = sum_{r<=t} delta_r A (per channel and state):
      h_t = exp(cum_t) h_in + exp(cum_t - ref) * cumsum_{s<=t}(exp(ref - cum_s) delta_s B_s u_s)
    ref is cum at the chunk's middle, so both exponents stay within +-c/2 * |min_log_decay| = +-44 (fp32 holds
    exp(88)). A per-token log decay below min_log_decay = -11 is raised to it: that token keeps 1.7e-5 of the
    state instead of less, which is below bf16 resolution of the result. The carry between chunks is a loop over
    L / c chunks on [b, I, N] states.
    """
    b, L, I = u.shape
    N = A.shape[1]
    pad = (-L) % chunk
    if pad:
        u, delta = F.pad(u, (0, 0, 0, pad)), F.pad(delta, (0, 0, 0, pad))
        B, C = F.pad(B, (0, 0, 0, pad)), F.pad(C, (0, 0, 0, pad))
    Lp = L + pad
    nc = Lp // chunk
    inner, cum = _kernels["inputs"](delta.view(b, nc, chunk, I), A, B.view(b, nc, chunk, N),
                                    u.view(b, nc, chunk, I), min_log_decay)
    chunk_decay = torch.exp(cum[:, :, -1])  # [b, nc, I, N]
    carries, h = [], torch.zeros(b, I, N, dtype=u.dtype, device=u.device)
    for k in range(nc):
        carries.append(h)
        h = chunk_decay[:, k] * h + inner[:, k, -1]
    carry = torch.stack(carries, 1)  # state entering each chunk
    y = _kernels["outputs"](inner, cum, carry, C.view(b, nc, chunk, N))
    return y.reshape(b, Lp, I)[:, :L]


def _mixer_step_s(m, x, reps=3):
    """Seconds for one forward + backward of mixer m on x (after one warm-up, which also compiles)."""
    import time
    m.zero_grad(set_to_none=True)
    m(x).float().square().mean().backward()
    torch.cuda.synchronize()
    t0 = time.time()
    for _ in range(reps):
        m(x).float().square().mean().backward()
    torch.cuda.synchronize()
    return (time.time() - t0) / reps


def use_compiled_scan(model, log=print):
    """Time one training step's worth of Mamba-1 mixer work (forward + backward on the first mixer) with the
    eager and the torch.compile'd element-wise halves; keep the faster one that also matches eager."""
    mixers = [m for m in model.modules() if _is_mamba1(m) and "forward" in m.__dict__]
    if not mixers or not torch.cuda.is_available():
        return False
    m = mixers[0]
    x = torch.randn(16, 512, m.in_proj.in_features, device=m.A_log.device) * 0.5

    eager_s = _mixer_step_s(m, x)
    with torch.no_grad():
        ref = m(x[:2]).float()
    eager = dict(_kernels)
    try:
        _kernels.update(inputs=torch.compile(_chunk_inputs, dynamic=False),
                        outputs=torch.compile(_chunk_outputs, dynamic=False))
        compiled_s = _mixer_step_s(m, x)
        with torch.no_grad():
            err = float((m(x[:2]).float() - ref).abs().max() / ref.abs().max())
    except Exception as e:
        _kernels.update(eager)
        log(f" torch.compile of the Mamba-1 scan failed ({type(e).__name__}: {e}); eager {eager_s * 1e3:.1f} ms")
        return False
    m.zero_grad(set_to_none=True)
    keep = compiled_s < eager_s and err <= 1e-4
    if not keep:
        _kernels.update(eager)
    log(f" Mamba-1 mixer fwd+bwd: eager {eager_s * 1e3:.1f} ms, compiled {compiled_s * 1e3:.1f} ms "
        f"(max rel. diff {err:.1e}) -> {'compiled' if keep else 'eager'}")
    return keep


def use_triton_scan(model, log=print, check_timeout_s=300, tol=1e-3):
    """Swap the Mamba-1 scan for triton_scan.py's kernels when (1) their own check passes on this GPU, run in a
    child process (`triton_scan.py --check`: forward and all five gradients against a float64 loop, 1e-4, at
    small shapes and at 64 x 512 x 480 x 16) so that a kernel that faults cannot leave this process's CUDA context
    unusable, (2) a mixer's output and parameter gradients with them match the current scan (tol, TF32 off) and
    (3) the mixer's forward + backward at 64 x 512 tokens runs faster with them. Every failure keeps the current
    scan and says why. Returns True when the kernels are in use."""
    import os, subprocess, sys, time
    mixers = [m for m in model.modules() if _is_mamba1(m) and "forward" in m.__dict__]
    if not mixers or not torch.cuda.is_available():
        return False
    here = os.path.dirname(os.path.abspath(__file__))
    t0 = time.time()
    try:
        r = subprocess.run([sys.executable, os.path.join(here, "triton_scan.py"), "--check"], capture_output=True,
                           text=True, timeout=check_timeout_s)
        ok = r.returncode == 0 and "TRITON_SCAN_CHECK_OK" in r.stdout
        for line in r.stdout.splitlines():
            log(" " + line)
        if not ok:
            for line in r.stderr.splitlines()[-20:]:
                log("  stderr: " + line)
            log(f" Triton scan not used: its check exited {r.returncode}")
            return False
    except Exception as e:  # no python, a timeout, ...
        log(f" Triton scan not used: its check did not run ({type(e).__name__}: {e})")
        return False
    log(f" Triton scan check passed in a child process ({time.time() - t0:.0f} s)")
    try:
        if here not in sys.path:
            sys.path.insert(0, here)
        import triton_scan
    except Exception as e:
        log(f" Triton scan not used: {type(e).__name__}: {e}")
        return False
    m = mixers[0]
    x = torch.randn(64, 512, m.in_proj.in_features, device=m.A_log.device) * 0.5

    def output_and_grads(xs):
        """The mixer's output and its parameters' gradients on xs, in fp32 without TF32 (compare the math). The
        chunked scan runs with its eager halves here: the compiled ones match them (use_compiled_scan checked)
        and would recompile for the changed TF32 flag."""
        m.zero_grad(set_to_none=True)
        tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        kernels = dict(_kernels)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        _kernels.update(inputs=_chunk_inputs, outputs=_chunk_outputs)
        try:
            y = m(xs).float()
            y.square().mean().backward()
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
            _kernels.update(kernels)
        return y.detach(), {n: p.grad.detach().clone() for n, p in m.named_parameters() if p.grad is not None}

    def rel(a, b):
        return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))

    try:
        ref_y, ref_g = output_and_grads(x[:4])
        current_s = _mixer_step_s(m, x)
        _scan["fn"] = triton_scan.selective_scan_triton
        triton_s = _mixer_step_s(m, x)
        got_y, got_g = output_and_grads(x[:4])
        err = rel(got_y, ref_y)
        gerr = max((rel(got_g[n], g) if n in got_g else float("inf") for n, g in ref_g.items()), default=0.0)
    except Exception as e:
        _scan.pop("fn", None)
        m.zero_grad(set_to_none=True)
        log(f" Triton scan not used: {type(e).__name__}: {e}")
        return False
    m.zero_grad(set_to_none=True)
    # the chunked scan clamps each token's log decay at -11 (selective_scan_chunked), the kernels do not, so the
    # two agree to the clamp's effect (nil at initialisation, where delta * A stays far above -11) and fp32
    # rounding; the kernels themselves matched float64 to 1e-4 in the check
    keep = triton_s < current_s and err <= tol and gerr <= tol
    if not keep:
        _scan.pop("fn", None)
    log(f" Mamba-1 mixer fwd+bwd at 64 x 512: current scan {current_s * 1e3:.1f} ms, Triton {triton_s * 1e3:.1f} ms "
        f"(max rel. diff: output {err:.1e}, parameter gradients {gerr:.1e}; tolerance {tol:.0e}) -> "
        f"{'Triton' if keep else 'current'}")
    return keep


def _segsum(x):
    """x [..., T] -> [..., T, T] with out[i, j] = sum_{j<k<=i} x_k for j <= i, -inf above the diagonal."""
    T = x.size(-1)
    x = x[..., None].expand(*x.shape, T)
    below = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device), -1)
    x = x.masked_fill(~below, 0)
    s = torch.cumsum(x, dim=-2)
    return s.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device), 0), -torch.inf)


def ssd_chunked(X, dA, B, C, chunk):
    """Mamba-2 SSD in chunks (the "minimal SSD" of the Mamba-2 paper, zero initial state).

    X: [b, L, H, P] (x already times dt); dA: [b, L, H] (dt * A); B, C: [b, L, H, N]. Returns y [b, L, H, P] of
      h_t = exp(dA_t) h_{t-1} + B_t X_t^T,   y_t = C_t h_t.
    """
    b, L, H, P = X.shape
    pad = (-L) % chunk
    if pad:
        X, dA = F.pad(X, (0, 0, 0, 0, 0, pad)), F.pad(dA, (0, 0, 0, pad))
        B, C = F.pad(B, (0, 0, 0, 0, 0, pad)), F.pad(C, (0, 0, 0, 0, 0, pad))
    nc = (L + pad) // chunk
    X, B, C = (t.reshape(b, nc, chunk, *t.shape[2:]) for t in (X, B, C))
    A = dA.reshape(b, nc, chunk, H).permute(0, 3, 1, 2)  # [b, H, nc, c]
    A_cum = torch.cumsum(A, dim=-1)
    Lmat = torch.exp(_segsum(A))  # [b, H, nc, c, c]
    y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, Lmat, X)
    decay_states = torch.exp(A_cum[..., -1:] - A_cum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(_segsum(F.pad(A_cum[..., -1], (1, 0))))  # [b, H, nc+1, nc+1]
    states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)[:, :-1]
    y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, torch.exp(A_cum))
    return (y_diag + y_off).reshape(b, nc * chunk, H, P)[:, :L]


def _mamba1_forward(self, hidden_states, *args, **kwargs):
    """transformers' MambaMixer.slow_forward with the token loop replaced by selective_scan_chunked."""
    L = hidden_states.shape[1]
    x, z = self.in_proj(hidden_states).transpose(1, 2).chunk(2, dim=1)  # [b, I, L] each
    x = F.silu(self.conv1d(x)[..., :L])
    params = self.x_proj(x.transpose(1, 2))  # [b, L, R + 2N]
    R, N = self.dt_proj.in_features, self.A_log.shape[1]
    dt, B, C = torch.split(params, [R, N, N], dim=-1)
    delta = F.softplus(self.dt_proj(dt))  # [b, L, I]
    A = -torch.exp(self.A_log.float())
    xt = x.transpose(1, 2)
    scan = _scan.get("fn", selective_scan_chunked)
    y = scan(xt.float(), delta.float(), A, B.float(), C.float()).to(xt.dtype)
    y = y + xt * self.D
    y = y * F.silu(z.transpose(1, 2))
    return self.out_proj(y)


def _mamba2_forward(self, hidden_states, *args, **kwargs):
    """transformers' Mamba2Mixer / NemotronH mamba mixer torch_forward (no cache) with ssd_chunked."""
    b, L, _ = hidden_states.shape
    H = self.A_log.shape[0]
    conv_dim = self.conv1d.weight.shape[0]
    I = self.out_proj.in_features
    GN = (conv_dim - I) // 2
    proj = self.in_proj(hidden_states)
    d_mlp = (proj.shape[-1] - 2 * I - 2 * GN - H) // 2
    _, _, z, xBC, dt = torch.split(proj, [d_mlp, d_mlp, I, conv_dim, H], dim=-1)
    xBC = F.silu(self.conv1d(xBC.transpose(1, 2))[..., :L].transpose(1, 2))
    x, Bg, Cg = torch.split(xBC, [I, GN, GN], dim=-1)
    G = getattr(self, "n_groups", None) or getattr(self, "ngroups")
    N = GN // G
    P = I // H
    dt = F.softplus(dt + self.dt_bias)
    lo, hi = getattr(self, "time_step_limit", (0.0, float("inf")))
    if lo > 0.0 or hi != float("inf"):
        dt = dt.clamp(lo, hi)
    A = -torch.exp(self.A_log.float())
    rep = H // G
    Bh = Bg.reshape(b, L, G, N).repeat_interleave(rep, dim=2).float()
    Ch = Cg.reshape(b, L, G, N).repeat_interleave(rep, dim=2).float()
    xh = x.reshape(b, L, H, P).float()
    y = ssd_chunked(xh * dt[..., None].float(), dt.float() * A, Bh, Ch, getattr(self, "chunk_size", 64))
    y = y + xh * self.D.float()[:, None]
    y = y.reshape(b, L, I).to(hidden_states.dtype)
    y = self.norm(y, z)
    return self.out_proj(y)


def _is_mamba1(m):
    return hasattr(m, "A_log") and m.A_log.dim() == 2 and hasattr(m, "x_proj")


def _is_mamba2(m):
    return hasattr(m, "A_log") and m.A_log.dim() == 1 and hasattr(m, "in_proj") and hasattr(m, "norm")


def patch_mixers(model, log=print, tol=1e-4):
    """Swap in the chunked scans on every Mamba mixer whose output matches the original forward within tol
    (max |a-b| / max |b|, fp32, random input). Returns the number patched."""
    patched = 0
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False  # compare the math, not TF32 rounding (1.7e-4 on Mamba-2)
    for name, m in model.named_modules():
        fwd = _mamba1_forward if _is_mamba1(m) else _mamba2_forward if _is_mamba2(m) else None
        if fwd is None:
            continue
        d_model = m.in_proj.in_features
        dev = m.A_log.device
        x = torch.randn(2, 200, d_model, device=dev) * 0.5
        was_training = m.training
        m.eval()
        try:
            with torch.no_grad():
                ref = m(x)
                ref = ref[0] if isinstance(ref, tuple) else ref
                got = fwd(m, x)
            err = float((got - ref).abs().max() / ref.abs().max())
        except Exception as e:  # an attribute this transformers version names differently: keep the original
            log(f"  {name}: chunked scan failed ({type(e).__name__}: {e})")
            err = float("inf")
        m.train(was_training)
        if err <= tol:
            m.forward = types.MethodType(fwd, m)
            patched += 1
        log(f"  {name}: chunked scan vs transformers' forward, max rel. error {err:.2e} -> "
            f"{'patched' if err <= tol else 'KEPT the original (slow) forward'}")
    torch.backends.cuda.matmul.allow_tf32 = tf32
    return patched


def unpatch_mixers(model):
    for m in model.modules():
        if "forward" in m.__dict__:
            del m.forward
