"""The Mamba-1 selective scan as two Triton kernels (forward and backward), for TRAINING the demo zoo.

    h_t = exp(delta_t * A) * h_{t-1} + delta_t * B_t * u_t     (h_0 = 0; per channel i and state n)
    y_t = sum_n C_t,n * h_t,n
    u, delta: [b, L, I]; A: [I, N] (negative); B, C: [b, L, N]; y: [b, L, I]; all fp32.
Same semantics as fast_scan.selective_scan_chunked except that one clamps each token's log decay at -11 (this
kernel multiplies by exp(delta A) <= 1 token by token, so nothing can overflow and nothing is clamped). No D term
and no gating: those stay in fast_scan._mamba1_forward.

Why a kernel: selective_scan_chunked does this in plain PyTorch by materialising [b, L/8, 8, I, N] tensors
(1 GB each at 64 x 512 tokens, I = 480, N = 16) and looping in Python over the L/8 chunks; that costs about 86 ms
per layer forward + backward on an H200 (the torch.compile'd version) and made Mamba-1 four times slower to train
than the other zoo models. Here one program walks the tokens of one batch row for a block of BLOCK_I channels
with its [BLOCK_I, N] state in registers: no per-token [.., I, N] tensor reaches memory in the forward pass.

Backward (reverse walk; dh is dLoss/dh_t, carried from the later tokens):
    dh      = C_t (x) dy_t + exp(delta_{t+1} A) * dh_{t+1}
    du_t    = sum_n dh * delta_t * B_t
    ddelta_t= sum_n dh * (A * exp(delta_t A) * h_{t-1} + B_t * u_t)
    dA     += dh * delta_t * exp(delta_t A) * h_{t-1}        (summed over tokens in the kernel, batch rows in torch)
    dB_t    = sum_i dh * delta_t * u_t                      (per channel block in the kernel, summed in torch)
    dC_t    = sum_i dy_t * h_t                              (likewise)
h_{t-1} is needed going backwards. Choice: the forward stores only the state ENTERING every chunk of CHUNK = 64
tokens, states [b, ceil(L/64), I, N] fp32 (15.7 MB per layer at 64 x 512 x 480 x 16, kept until the backward;
keeping every h would be 64x that, 1 GB per layer). The backward re-walks one chunk forwards from its stored
state into a per-program global scratch of the states before each token, [b, I/BLOCK_I, CHUNK, BLOCK_I, N] fp32
(126 MB at 64 x 480 x 16, freed after the backward), then walks that chunk back. Extra partials in the backward:
dB, dC [b, I/BLOCK_I, L, N] (31 MB each at the zoo's sizes), dA [b, I, N].

Indices are int32 in the kernels: selective_scan_triton falls back to selective_scan_chunked for sizes where an
offset could pass 2^31, for d_state not a power of two (tl.arange) or above 64, and for tensors not on CUDA.

`python3 tools/train/triton_scan.py` runs check(full=True) (forward and the five gradients against a float64
per-token loop, small shapes plus the zoo's 64 x 512 x 480 x 16), bench() (scan forward + backward against
selective_scan_chunked), bench_mixer() (fast_scan's own integration path on a freshly built zoo Mamba-1:
patch_mixers, use_compiled_scan, use_triton_scan, with their timings) and sweep() (BLOCK_I / num_warps).
`triton_scan.py --check` runs only the check and prints TRITON_SCAN_CHECK_OK on success (fast_scan.use_triton_scan
runs it in a child process, so a kernel that faults cannot take the training process's CUDA context with it).
"""
import os
import sys

import torch
import triton
import triton.language as tl

CHUNK = 64  # tokens between stored states (see the docstring for the memory)
BLOCK_I = 32  # channels per program (a power of two; I = 480 gives 15 blocks)
NUM_WARPS = 2  # 64 threads for a [32, 16] state tile: 8 values each

_INT32 = 2 ** 31 - 1


@triton.jit
def _scan_fwd(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, y_ptr, states_ptr, L, I, n_chunks,
              N: tl.constexpr, BLOCK: tl.constexpr, CH: tl.constexpr):
    # all tensors contiguous: u, delta, y [b, L, I]; A [I, N]; B, C [b, L, N]; states [b, n_chunks, I, N]
    pb = tl.program_id(0)  # batch row
    pi = tl.program_id(1)  # channel block
    offs_i = pi * BLOCK + tl.arange(0, BLOCK)
    offs_n = tl.arange(0, N)
    mask_i = offs_i < I  # the last block may run past I; its padded channels keep A = u = delta = 0, so h = 0
    A = tl.load(A_ptr + offs_i[:, None] * N + offs_n[None, :], mask=mask_i[:, None], other=0.0)
    h = tl.zeros((BLOCK, N), dtype=tl.float32)
    for t in range(0, L):
        if t % CH == 0:  # the state entering chunk t // CH (h_{t-1}; zeros for the first)
            tl.store(states_ptr + ((pb * n_chunks + t // CH) * I + offs_i[:, None]) * N + offs_n[None, :], h,
                     mask=mask_i[:, None])
        row = pb * L + t
        u = tl.load(u_ptr + row * I + offs_i, mask=mask_i, other=0.0)
        d = tl.load(delta_ptr + row * I + offs_i, mask=mask_i, other=0.0)
        Bt = tl.load(B_ptr + row * N + offs_n)
        Ct = tl.load(C_ptr + row * N + offs_n)
        # h_t = exp(delta_t A) h_{t-1} + delta_t u_t B_t;  y_t = sum_n C_t,n h_t,n
        h = tl.exp(d[:, None] * A) * h + (d * u)[:, None] * Bt[None, :]
        y = tl.sum(h * Ct[None, :], axis=1)
        tl.store(y_ptr + row * I + offs_i, y, mask=mask_i)


@triton.jit
def _scan_bwd(u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, dy_ptr, states_ptr, scratch_ptr,
              du_ptr, ddelta_ptr, dA_part_ptr, dB_part_ptr, dC_part_ptr, L, I, n_chunks, n_blocks,
              N: tl.constexpr, BLOCK: tl.constexpr, CH: tl.constexpr):
    # dy, du, ddelta [b, L, I]; scratch [b, n_blocks, CH, BLOCK, N]; dA_part [b, I, N];
    # dB_part, dC_part [b, n_blocks, L, N]; the rest as in _scan_fwd
    pb = tl.program_id(0)
    pi = tl.program_id(1)
    offs_i = pi * BLOCK + tl.arange(0, BLOCK)
    offs_n = tl.arange(0, N)
    mask_i = offs_i < I
    A = tl.load(A_ptr + offs_i[:, None] * N + offs_n[None, :], mask=mask_i[:, None], other=0.0)
    # this program's own scratch: the state before each token of the chunk being walked back, [CH, BLOCK, N]
    scratch = scratch_ptr + (pb * n_blocks + pi) * (CH * BLOCK * N)
    tile = tl.arange(0, BLOCK)[:, None] * N + offs_n[None, :]
    dh = tl.zeros((BLOCK, N), dtype=tl.float32)  # dLoss/dh_t from the tokens after t (times their decay)
    dA_acc = tl.zeros((BLOCK, N), dtype=tl.float32)
    part = (pb * n_blocks + pi) * L  # this program's first row in the [b, n_blocks, L, N] partials
    for cc in range(0, n_chunks):
        c = n_chunks - 1 - cc
        t0 = c * CH
        t1 = tl.minimum(t0 + CH, L)
        # 1. forwards through the chunk from its stored entering state, writing h_{t-1} for each token t
        h = tl.load(states_ptr + ((pb * n_chunks + c) * I + offs_i[:, None]) * N + offs_n[None, :],
                    mask=mask_i[:, None], other=0.0)
        for t in range(t0, t1):
            tl.store(scratch + (t - t0) * (BLOCK * N) + tile, h)
            row = pb * L + t
            u = tl.load(u_ptr + row * I + offs_i, mask=mask_i, other=0.0)
            d = tl.load(delta_ptr + row * I + offs_i, mask=mask_i, other=0.0)
            Bt = tl.load(B_ptr + row * N + offs_n)
            h = tl.exp(d[:, None] * A) * h + (d * u)[:, None] * Bt[None, :]
        # the scratch was written by this program's threads above; the barrier makes every write visible to
        # every thread of the program before the walk back reads it (whatever layout the compiler picks)
        tl.debug_barrier()
        # 2. backwards through it, t = t1-1 .. t0
        for k in range(0, t1 - t0):
            t = t1 - 1 - k
            row = pb * L + t
            u = tl.load(u_ptr + row * I + offs_i, mask=mask_i, other=0.0)
            d = tl.load(delta_ptr + row * I + offs_i, mask=mask_i, other=0.0)
            dy = tl.load(dy_ptr + row * I + offs_i, mask=mask_i, other=0.0)  # 0 on padded channels
            Bt = tl.load(B_ptr + row * N + offs_n)
            Ct = tl.load(C_ptr + row * N + offs_n)
            h_prev = tl.load(scratch + (t - t0) * (BLOCK * N) + tile)
            decay = tl.exp(d[:, None] * A)
            h_t = decay * h_prev + (d * u)[:, None] * Bt[None, :]
            # dC_t,n = sum_i dy_t,i h_t,i,n (this block's share)
            tl.store(dC_part_ptr + (part + t) * N + offs_n, tl.sum(dy[:, None] * h_t, axis=0))
            # dh_t = C_t dy_t + exp(delta_{t+1} A) dh_{t+1}  (the second term is already in dh)
            dh += dy[:, None] * Ct[None, :]
            # du_t,i = sum_n dh_t,i,n delta_t,i B_t,n
            tl.store(du_ptr + row * I + offs_i, tl.sum(dh * Bt[None, :], axis=1) * d, mask=mask_i)
            # ddelta_t,i = sum_n dh_t,i,n (A_i,n exp(delta_t,i A_i,n) h_{t-1},i,n + B_t,n u_t,i)
            g_decay = dh * decay * h_prev  # dLoss/d(delta_t A) at each (i, n)
            dd = tl.sum(g_decay * A + dh * Bt[None, :] * u[:, None], axis=1)
            tl.store(ddelta_ptr + row * I + offs_i, dd, mask=mask_i)
            # dA_i,n += dh_t,i,n delta_t,i exp(delta_t,i A_i,n) h_{t-1},i,n
            dA_acc += g_decay * d[:, None]
            # dB_t,n = sum_i dh_t,i,n delta_t,i u_t,i (this block's share; padded channels have d = u = 0)
            tl.store(dB_part_ptr + (part + t) * N + offs_n, tl.sum(dh * (d * u)[:, None], axis=0))
            # on to token t-1: dLoss/dh_{t-1} gets exp(delta_t A) dh_t
            dh = dh * decay
        tl.debug_barrier()  # every thread is done reading before the next chunk's walk overwrites the scratch
    tl.store(dA_part_ptr + (pb * I + offs_i[:, None]) * N + offs_n[None, :], dA_acc, mask=mask_i[:, None])


class _SelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        # contiguous fp32 copies (in _mamba1_forward u is a transposed view and B, C are slices of x_proj's
        # output): the kernels index with the contiguous strides
        u, delta, A, B, C = (t.float().contiguous() for t in (u, delta, A, B, C))
        b, L, I = u.shape
        N = A.shape[1]
        ch, blk, nw = CHUNK, BLOCK_I, NUM_WARPS
        n_chunks = triton.cdiv(L, ch)
        y = torch.empty_like(u)
        # the state entering every chunk of ch tokens, for the backward (15.7 MB per layer at the zoo's sizes)
        states = torch.empty(b, n_chunks, I, N, device=u.device, dtype=torch.float32)
        with torch.cuda.device(u.device):
            _scan_fwd[(b, triton.cdiv(I, blk))](u, delta, A, B, C, y, states, L, I, n_chunks,
                                                N=N, BLOCK=blk, CH=ch, num_warps=nw)
        ctx.save_for_backward(u, delta, A, B, C, states)
        ctx.chunk = ch
        return y

    @staticmethod
    def backward(ctx, dy):
        u, delta, A, B, C, states = ctx.saved_tensors
        ch, blk, nw = ctx.chunk, BLOCK_I, NUM_WARPS
        dy = dy.float().contiguous()  # y.sum().backward() hands an expanded (stride 0) gradient
        b, L, I = u.shape
        N = A.shape[1]
        n_chunks = states.shape[1]
        n_blocks = triton.cdiv(I, blk)
        scratch = torch.empty(b, n_blocks, ch, blk, N, device=u.device, dtype=torch.float32)
        du, ddelta = torch.empty_like(u), torch.empty_like(delta)
        dA_part = torch.empty(b, I, N, device=u.device, dtype=torch.float32)
        dB_part = torch.empty(b, n_blocks, L, N, device=u.device, dtype=torch.float32)
        dC_part = torch.empty(b, n_blocks, L, N, device=u.device, dtype=torch.float32)
        with torch.cuda.device(u.device):
            _scan_bwd[(b, n_blocks)](u, delta, A, B, C, dy, states, scratch, du, ddelta, dA_part, dB_part, dC_part,
                                     L, I, n_chunks, n_blocks, N=N, BLOCK=blk, CH=ch, num_warps=nw)
        return du, ddelta, dA_part.sum(0), dB_part.sum(1), dC_part.sum(1)


def _supported(u, A):
    """Whether the kernels take these sizes (else selective_scan_triton falls back to the chunked scan)."""
    if not (u.is_cuda and u.dim() == 3 and A.dim() == 2):
        return False
    b, L, I = u.shape
    N = A.shape[1]
    if N < 1 or N > 64 or N & (N - 1) or b * L * I == 0:
        return False
    n_blocks = triton.cdiv(I, BLOCK_I)
    sizes = (b * L * I, b * triton.cdiv(L, CHUNK) * I * N, b * n_blocks * CHUNK * BLOCK_I * N,
             b * n_blocks * L * N, b * I * N)
    return max(sizes) < _INT32


def selective_scan_triton(u, delta, A, B, C):
    """Same arguments and result as fast_scan.selective_scan_chunked (without its clamp of the log decay),
    differentiable w.r.t. all five. Sizes the kernels do not take go to selective_scan_chunked."""
    if not _supported(u, A):
        from fast_scan import selective_scan_chunked
        return selective_scan_chunked(u, delta, A, B, C)
    return _SelectiveScan.apply(u, delta, A, B, C)


def _reference(u, delta, A, B, C):
    """The recurrence token by token (float64 in check())."""
    b, L, I = u.shape
    h = torch.zeros(b, I, A.shape[1], dtype=u.dtype, device=u.device)
    ys = []
    for t in range(L):
        h = torch.exp(delta[:, t, :, None] * A) * h + (delta[:, t] * u[:, t])[:, :, None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1))
    return torch.stack(ys, 1)


def _inputs(b, L, I, N, seed):
    """Float64 CPU inputs at the scales of a Mamba-1 layer: delta = softplus(randn - 2) (about 0.001 .. 2.6),
    A = -exp(log(1..N) + 0.3 randn) (differs per channel, so an indexing error in A shows), u, B, C ~ randn."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    f64 = torch.float64
    u = torch.randn(b, L, I, generator=g, dtype=f64)
    delta = torch.nn.functional.softplus(torch.randn(b, L, I, generator=g, dtype=f64) - 2)
    A = -torch.exp(torch.log(torch.arange(1, N + 1, dtype=f64)).repeat(I, 1)
                   + 0.3 * torch.randn(I, N, generator=g, dtype=f64))
    B = torch.randn(b, L, N, generator=g, dtype=f64)
    C = torch.randn(b, L, N, generator=g, dtype=f64)
    return [u, delta, A, B, C]


# b, L, I, N: L = 1, 37 (one partial chunk), 200 (four chunks, the last partial) with I = 16 (one partly used
# block) and 480 (the zoo's d_inner, 15 full blocks); then I = 45 (a masked tail block) with N = 8, and L = 129
# (a last chunk of one token) with I = 100 and N = 32
CHECK_SHAPES = [(2, L, I, 16) for L in (1, 37, 200) for I in (16, 480)] + [(1, 130, 45, 8), (3, 129, 100, 32)]
FULL_SHAPE = (64, 512, 480, 16)  # the zoo's training step: its float64 reference runs on the GPU, 16 rows at a time


def _compare(b, L, I, N, device, ref_device, seed, rows_per_ref):
    """max |got - ref| / max |ref| for y and the five gradients of sum(y * w), w random."""
    ins = _inputs(b, L, I, N, seed)
    w = torch.randn(b, L, I, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    ref_in = [t.to(ref_device).clone().requires_grad_(True) for t in ins]
    w_ref = w.to(ref_device)
    y_ref = torch.empty(b, L, I, dtype=torch.float64, device=ref_device)
    u, d, A, B, C = ref_in
    for s in range(0, b, rows_per_ref):
        e = min(s + rows_per_ref, b)
        y = _reference(u[s:e], d[s:e], A, B[s:e], C[s:e])
        (y * w_ref[s:e]).sum().backward()  # gradients accumulate into the leaves (A's over all rows)
        y_ref[s:e] = y.detach()
        del y
    got_in = [t.to(device=device, dtype=torch.float32).requires_grad_(True) for t in ins]
    y = selective_scan_triton(*got_in)
    (y * w.to(device=device, dtype=torch.float32)).sum().backward()
    errs = {}
    pairs = [("y", y.detach(), y_ref)] + [("d" + n, g.grad, r.grad) for n, g, r in
                                          zip(("u", "delta", "A", "B", "C"), got_in, ref_in)]
    for name, got, ref in pairs:
        ref = ref.to(device)
        errs[name] = float((got.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30))
    return errs


def check(device="cuda", tol=1e-4, full=False, log=print):
    """Forward and the five gradients against the float64 per-token loop, on CHECK_SHAPES (and FULL_SHAPE when
    full). Tolerance: max |got - ref| / max |ref| <= 1e-4 for each of y, du, ddelta, dA, dB, dC. fp32 rounding
    through a contracting recurrence of <= 512 tokens and sums over <= 64 x 512 terms stays near 1e-6; a wrong
    index or formula gives O(1). Raises AssertionError beyond tol (or on NaN); returns the worst error."""
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device")
    worst = 0.0
    shapes = list(CHECK_SHAPES) + ([FULL_SHAPE] if full else [])
    for k, (b, L, I, N) in enumerate(shapes):
        big = b * L * I > 10 ** 6
        errs = _compare(b, L, I, N, device, device if big else "cpu", seed=100 + k,
                        rows_per_ref=16 if big else b)
        err = max(errs.values())
        bad = {n: e for n, e in errs.items() if not e <= tol}  # "not <=" also catches NaN
        log(f"  triton scan b={b} L={L} I={I} N={N}: " + " ".join(f"{n} {e:.1e}" for n, e in errs.items()) +
            (f"  FAILED (tolerance {tol:.0e})" if bad else ""))
        if bad:
            raise AssertionError(f"triton scan b={b} L={L} I={I} N={N}: " +
                                 ", ".join(f"{n} differs by {e:.2e}" for n, e in bad.items()) +
                                 f" (tolerance {tol:.0e})")
        worst = max(worst, err)
    return worst


def _fast_scan():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fast_scan
    return fast_scan


def _bench_inputs(b, L, I, N):
    ins = [t.to(device="cuda", dtype=torch.float32).requires_grad_(True) for t in _inputs(b, L, I, N, seed=1)]
    dy = torch.randn(b, L, I, device="cuda", generator=torch.Generator(device="cuda").manual_seed(2))

    def fwd_bwd(fn):
        for t in ins:
            t.grad = None
        y = fn(*ins)
        y.backward(dy)
        return y

    return ins, fwd_bwd


def bench(b=64, L=512, I=480, N=16, log=print):
    """Forward, and forward + backward, of the scan alone: these kernels against fast_scan.selective_scan_chunked
    (eager element-wise halves; training uses torch.compile'd ones, see bench_mixer). ms, do_bench means."""
    import triton.testing
    chunked = _fast_scan().selective_scan_chunked
    ins, fwd_bwd = _bench_inputs(b, L, I, N)

    def fwd(fn):
        with torch.no_grad():
            fn(*ins)

    out = {}
    for name, fn in (("chunked", chunked), ("triton", selective_scan_triton)):
        out[name + " fwd"] = triton.testing.do_bench(lambda fn=fn: fwd(fn))
        out[name] = triton.testing.do_bench(lambda fn=fn: fwd_bwd(fn))
        log(f"  scan at {b}x{L}x{I}x{N}: {name} forward {out[name + ' fwd']:.2f} ms, "
            f"forward + backward {out[name]:.2f} ms")
    log(f"  scan forward + backward: triton {out['chunked'] / out['triton']:.1f}x faster than chunked (eager)")
    return out


def sweep(b=64, L=512, I=480, N=16, log=print):
    """Forward + backward time for BLOCK_I in 16, 32, 64 and num_warps in 1, 2, 4 (the defaults are 32 and 2),
    each with its largest relative difference from the defaults' y and gradients (any BLOCK_I must agree to fp32
    rounding: the per-channel math is the same, only the dB / dC partial sums regroup)."""
    import triton.testing
    global BLOCK_I, NUM_WARPS
    ins, fwd_bwd = _bench_inputs(b, L, I, N)
    ref = [fwd_bwd(selective_scan_triton).detach()] + [t.grad.clone() for t in ins]
    saved = BLOCK_I, NUM_WARPS
    out = {}
    try:
        for blk in (16, 32, 64):
            for nw in (1, 2, 4):
                BLOCK_I, NUM_WARPS = blk, nw
                got = [fwd_bwd(selective_scan_triton).detach()] + [t.grad for t in ins]
                diff = max(float((g - r).abs().max() / r.abs().max().clamp_min(1e-30)) for g, r in zip(got, ref))
                ms = triton.testing.do_bench(lambda: fwd_bwd(selective_scan_triton))
                out[(blk, nw)] = ms
                log(f"  sweep: BLOCK_I={blk} num_warps={nw}: forward + backward {ms:.2f} ms "
                    f"(max rel. diff from the defaults {diff:.1e})")
    finally:
        BLOCK_I, NUM_WARPS = saved
    return out


def bench_mixer(log=print):
    """fast_scan's own path on a freshly built zoo Mamba-1 (train_zoo.build_model("mamba")): patch_mixers,
    use_compiled_scan (batch 16), use_triton_scan (its child-process check, then the mixer's forward + backward
    at 64 x 512 with the current scan and with the kernels); their log lines say what training would pick."""
    import transformers
    fast_scan = _fast_scan()
    import train_zoo
    torch.backends.cuda.matmul.allow_tf32 = True  # as train_zoo.train sets it
    torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(7)
    model = train_zoo.build_model("mamba", transformers, torch).to("cuda")
    model.train()
    fast_scan.patch_mixers(model, log=log)
    fast_scan.use_compiled_scan(model, log=log)
    used = fast_scan.use_triton_scan(model, log=log)
    log(f"  bench_mixer: use_triton_scan -> {used}")
    return used


if __name__ == "__main__":
    if "--check" in sys.argv[1:]:
        try:
            w = check(full=True)
        except Exception as e:
            print(f"TRITON_SCAN_CHECK_FAILED {type(e).__name__}: {e}", flush=True)
            sys.exit(1)
        print(f"TRITON_SCAN_CHECK_OK worst {w:.1e}", flush=True)
        sys.exit(0)
    print(f"torch {torch.__version__}, triton {triton.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    print(f"check: worst {check(full=True):.1e} (tolerance 1e-4)", flush=True)
    bench()
    bench_mixer()
    sweep()
