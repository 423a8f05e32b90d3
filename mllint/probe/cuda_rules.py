"""What a CUDA run does differently from the fake-CPU trace, as rules applied while tracing.

Each rule models a mechanism and names its evidence. `../shared/gpu` (H200, torch 2.11+cu130)
and `../shared/research/gpu-memory.md` are the measurements; docs/probe.md has the summary.

1. Autocast op policy. CPU autocast and CUDA autocast cast different ops. On CUDA,
   `layer_norm`, `group_norm`, `exp`, `pow`, ... run in fp32, and `softmax`, `log_softmax`,
   `sum`, `cumsum`, `prod` produce fp32 outputs from 16-bit inputs ("fp32_set_opt_dtype"); CPU
   autocast does neither, but it upcasts `cross_entropy_loss`, `cat`, `stack` and a list of
   pooling/padding ops that CUDA leaves alone. Source: aten/src/ATen/autocast_mode.cpp/.h
   (AT_FORALL_LOWER_PRECISION_FP, AT_FORALL_FP32, AT_FORALL_FP32_SET_OPT_DTYPE,
   AT_FORALL_PROMOTE vs the AutocastCPU list). Autocast runs above autograd, so the casts
   decide what autograd saves; we therefore re-register the AutocastCPU kernels of those ops
   with CUDA's policy for the duration of the trace (a `torch.library.Library` that is
   destroyed afterwards, restoring CPU's kernels). Measured effect: gpt-small-naive amp-bf16
   keeps an fp32 copy of every softmax (B*H*T*T*4 bytes per layer).
2. Dropout. CUDA uses the fused `native_dropout` kernel with a 1-byte bool mask; CPU's
   `dropout` multiplies by a mask in the input's dtype (4 bytes per element in fp32). We
   route `aten::dropout` to `native_dropout` (AutogradCPU kernel).
3. Attention. Fake CPU runs `_scaled_dot_product_flash_attention_for_cpu`, which, like CUDA's
   flash and memory-efficient kernels, stores only the output and a (B, H, T) logsumexp, so the
   forward matches. The CUDA backward allocates fp32 scratch the CPU op does not: flash-attn 2
   `mha_bwd` takes a `dq_accum` of (B, round128(T), H, round32(D)) fp32 and `softmax_d` of
   (B, H, round128(T)) fp32; the memory-efficient kernel (used for fp32) a (B, H, T) fp32
   `delta`. Added as transient workspaces around the backward op.
4. cuDNN convolution workspaces: transient, algorithm dependent. The allocator traces in
   ../shared/gpu and our recorded H200 run show one per pass, about twice the larger operand
   and a little more than an exact multiple (see `conv_workspace_bytes`).
   Linear layers: a weight-gradient GEMM workspace (see `weight_grad_workspace_bytes`).
5. cuDNN RNN (nn.LSTM/GRU/RNN). CUDA runs `_cudnn_rnn` with a *reserve space* that keeps every
   gate activation for backward, plus a transient workspace, and a flat copy of the weights.
   The CPU trace runs `mkldnn_rnn_layer` per layer with different saved tensors, so we replace
   the memory of the RNN with cuDNN's (see `_CudnnRnnMemory`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

# ---- rule 1: autocast policy --------------------------------------------------------------

# Ops CUDA autocast runs in the low-precision dtype but CPU autocast does not touch.
_CUDA_ONLY_LOWER = (
    "addmv",
    "addr",
    "mv",
    "chain_matmul",
    "linalg_multi_dot",
    "lstm_cell",
    "gru_cell",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "_thnn_fused_lstm_cell",
    "_thnn_fused_gru_cell",
)
# Ops CUDA autocast runs in fp32 (inputs cast up) that CPU autocast leaves in 16 bits.
_CUDA_ONLY_FP32 = (
    "acos",
    "asin",
    "cosh",
    "erfinv",
    "exp",
    "expm1",
    "log",
    "log10",
    "log2",
    "log1p",
    "reciprocal",
    "rsqrt",
    "sinh",
    "tan",
    "pow.Tensor_Scalar",
    "pow.Tensor_Tensor",
    "pow.Scalar",
    "softplus",
    "layer_norm",
    "native_layer_norm",
    "group_norm",
    "frobenius_norm.dim",
    "nuclear_norm",
    "cosine_similarity",
    "dist",
    "pdist",
    "renorm",
    "logsumexp",
)
# Ops CUDA runs in fp32 by asking for an fp32 *output* (no input copy).
_CUDA_SET_OPT_DTYPE = (
    "softmax.int",
    "log_softmax.int",
    "sum",
    "sum.dim_IntList",
    "cumsum",
    "cumprod",
    "prod",
    "prod.dim_int",
)
# Ops CPU autocast casts but CUDA autocast does not: let them fall through to type promotion.
_CPU_ONLY = (
    "cross_entropy_loss",
    "cat",
    "stack",
    "index_copy",
    "avg_pool3d",
    "max_pool3d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "reflection_pad1d",
    "reflection_pad2d",
    "replication_pad1d",
    "replication_pad2d",
    "replication_pad3d",
    "max_unpool2d",
    "max_unpool3d",
    "grid_sampler",
    "_native_multi_head_attention",
)

_AUTOCAST_CPU = torch._C.DispatchKeySet(torch._C.DispatchKey.AutocastCPU)


def _eligible(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.is_floating_point() and t.dtype != torch.float64


def _cast_tree(obj: Any, dtype: torch.dtype) -> Any:
    if _eligible(obj):
        return obj if obj.dtype == dtype else obj.to(dtype)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cast_tree(o, dtype) for o in obj)
    return obj


def _op(qualified: str):
    name, _, overload = qualified.partition(".")
    packet = getattr(torch.ops.aten, name)
    return getattr(packet, overload or "default")


def _lower_kernel(op, dtype: torch.dtype):
    def kernel(*args, **kwargs):
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            return op(*_cast_tree(list(args), dtype), **kwargs)

    return kernel


def _fp32_kernel(op):
    def kernel(*args, **kwargs):
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            return op(*_cast_tree(list(args), torch.float32), **kwargs)

    return kernel


def _set_opt_dtype_kernel(op):
    names = [a.name for a in op._schema.arguments]
    where = names.index("dtype") if "dtype" in names else None

    def kernel(*args, **kwargs):
        with torch._C._ExcludeDispatchKeyGuard(_AUTOCAST_CPU):
            if where is not None and args and _eligible(args[0]):
                if len(args) > where:
                    if args[where] is None:
                        args = (*args[:where], torch.float32, *args[where + 1 :])
                elif kwargs.get("dtype") is None:
                    kwargs = dict(kwargs, dtype=torch.float32)
            return op(*args, **kwargs)

    return kernel


def _sdpa_kernel(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,
    *,
    scale=None,
    enable_gqa=False,
):
    """scaled_dot_product_attention as CUDA runs it, memory-wise.

    With dropout, CPU falls back to the math path, which materialises the (T, T) attention
    matrix and a dropout mask; CUDA's flash and memory-efficient kernels apply dropout inside
    the kernel (keeping only an RNG seed and offset). So dropout is traced as the CPU flash
    kernel without dropout, whose saved tensors match CUDA's. Shapes the CPU flash kernel does
    not take (grouped-query heads, other ranks) keep the math path.
    """
    same_heads = (
        query.dim() == 4
        and key.dim() == 4
        and value.dim() == 4
        and query.shape[1] == key.shape[1] == value.shape[1]
    )
    if same_heads and query.is_floating_point():
        out, _lse = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default(
            query, key, value, 0.0, is_causal, attn_mask=attn_mask, scale=scale
        )
        if dropout_p > 0 and query.dtype == torch.float32 and torch.is_grad_enabled():
            # fp32 runs the memory-efficient kernel; with dropout it kept one more
            # output-sized buffer per attention until backward on the H200
            # (nn.TransformerEncoder, fp32, batch 64: +64 MiB per layer, bf16 flash: none).
            out = _KeepUntilBackward.apply(out, torch.empty_like(out))
        return out
    return torch.ops.aten._scaled_dot_product_attention_math.default(
        query,
        key,
        value,
        attn_mask,
        dropout_p,
        is_causal,
        None,
        scale=scale,
        enable_gqa=enable_gqa,
    )[0]


class _KeepUntilBackward(torch.autograd.Function):
    """Identity on its first input that keeps the second alive until backward."""

    @staticmethod
    def forward(ctx, x, kept):
        ctx.save_for_backward(kept)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _dropout_kernel(inp, p, train):
    # CUDA's dropout is the fused kernel with a bool mask; CPU's is mask-multiply in inp.dtype.
    if not train or p == 0:
        return inp
    return torch.ops.aten.native_dropout.default(inp, p, train)[0]


@contextlib.contextmanager
def cuda_policy(autocast_dtype: torch.dtype | None) -> Iterator[None]:
    """Re-register CPU kernels so the CPU trace follows CUDA's op policies (rules 1 and 2)."""
    lib = torch.library.Library("aten", "IMPL")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.impl("dropout", _dropout_kernel, "AutogradCPU")
            lib.impl("scaled_dot_product_attention", _sdpa_kernel, "AutogradCPU")
            if autocast_dtype is not None:
                for name in _CUDA_ONLY_LOWER:
                    _try_impl(lib, name, lambda op: _lower_kernel(op, autocast_dtype))
                for name in _CUDA_ONLY_FP32:
                    _try_impl(lib, name, _fp32_kernel)
                for name in _CUDA_SET_OPT_DTYPE:
                    _try_impl(lib, name, _set_opt_dtype_kernel)
                for name in _CPU_ONLY:
                    with contextlib.suppress(Exception):
                        lib.impl(name, torch.library.fallthrough_kernel, "AutocastCPU")
        yield
    finally:
        lib._destroy()


def _try_impl(lib, name: str, make) -> None:
    try:
        op = _op(name)
    except AttributeError:
        return
    with contextlib.suppress(Exception):
        lib.impl(name, make(op), "AutocastCPU")


# ---- rules 3-5: workspaces ----------------------------------------------------------------

# Upper bound on one cuDNN convolution workspace (PyTorch lets cuDNN pick algorithms whose
# workspace fits in free memory; on the measured GPU none exceeded 251 MiB).
CONV_WORKSPACE_CAP = 1024**3


def _nbytes(t: Any) -> int:
    if isinstance(t, torch.Tensor):
        return t.numel() * t.element_size()
    return 0


def _round_up(x: int, m: int) -> int:
    return ((x + m - 1) // m) * m


class CudaRules:
    """Hooks called by the tracer around every aten op, adding CUDA-only allocations."""

    def __init__(self, *, conv_workspace: bool = True, attention_workspace: bool = True) -> None:
        self.weight_shapes: set[tuple[int, ...]] = set()
        self.conv_workspace = conv_workspace
        self.attention_workspace = attention_workspace
        self.notes: list[str] = []

    @contextlib.contextmanager
    def installed(self, autocast_dtype: torch.dtype | None) -> Iterator[None]:
        with cuda_policy(autocast_dtype):
            yield

    def prepare_model(self, model: torch.nn.Module, recorder) -> None:
        self.weight_shapes = {tuple(p.shape) for p in model.parameters() if p.dim() == 2}
        for module in model.modules():
            if isinstance(module, torch.nn.RNNBase):
                _CudnnRnnMemory.attach(module, recorder, self)

    def before_op(self, name: str, func, args, kwargs, recorder) -> list[int]:
        uids: list[int] = []
        if (
            self.attention_workspace
            and name == "_scaled_dot_product_flash_attention_for_cpu_backward"
        ):
            q = args[1] if len(args) > 1 else None
            if isinstance(q, torch.Tensor) and q.dim() == 4:
                b, h, t, d = (int(x) for x in q.shape)
                if q.dtype in (torch.float16, torch.bfloat16):
                    # flash-attn 2 backward: dq_accum and softmax_d, both fp32.
                    t128 = _round_up(t, 128)
                    dq_accum = b * t128 * h * _round_up(d, 32) * 4
                    softmax_d = b * h * t128 * 4
                    # one block: the recorded BERT stream (B=32, T=512, H=12, D=64) shows a
                    # single 48.75 MiB = 48 MiB dq_accum + 0.75 MiB softmax_d transient
                    uids.append(recorder.alloc(_round_up(dq_accum + softmax_d, 512), "workspaces"))
                else:
                    # memory-efficient attention backward: fp32 delta of (B, H, T).
                    delta = b * h * _round_up(t, 32) * 4
                    uids.append(recorder.alloc(_round_up(delta, 512), "workspaces"))
        return uids

    def after_op(self, name, func, args, kwargs, out, recorder, before: list[int]) -> None:
        if name == "mm" and recorder.phase == "temporaries" and isinstance(out, torch.Tensor):
            size = weight_grad_workspace_bytes(out, args, self.weight_shapes)
            if size:
                recorder.free(recorder.alloc(_round_up(size, 512), "workspaces"))
        if self.conv_workspace and name in ("convolution", "convolution_backward"):
            # cuDNN allocates its workspace after the op's outputs and frees it before
            # returning (allocator trace: output block, workspace block, workspace free).
            # The backward runs backward-data then backward-filter, each with its own.
            size = conv_workspace_bytes(args, backward=name != "convolution")
            # Measured sizes are not exact multiples of the operand (98.14 MiB forward, 98.14
            # and 100.11 MiB backward for a 49 MiB operand), so they rarely fit a cached
            # activation block exactly; the factors below keep that property.
            factors = CONV_BACKWARD_FACTORS if name == "convolution_backward" else (1.0015,)
            # Two blocks per backward even for a first layer (no grad_input): the recorded
            # ResNet-50 stream shows two stem workspaces per step (294 and 302 MiB), and
            # modelling one under-predicts ResNet reserved memory by 15-20 %.
            for factor in factors:
                if size > 0:
                    ws = _round_up(int(size * factor), 512)
                    recorder.free(recorder.alloc(ws, "workspaces"))
        for uid in before:
            recorder.free(uid)


# backward-data, backward-filter workspaces relative to the forward one (ResNet trace)
CONV_BACKWARD_FACTORS = (1.0015, 1.0215)

# Largest weight-gradient GEMM workspace seen on the H200 (BERT-base, bf16, 16k tokens).
WEIGHT_GRAD_WORKSPACE_CAP = 132 * 1024**2


def weight_grad_workspace_bytes(out: torch.Tensor, args, weight_shapes) -> int:
    """Transient workspace of the GEMM that computes a Linear layer's weight gradient.

    Allocator events recorded on the H200 (benchmarks/probe_data/gpu-run-h200-*.json) show,
    in the backward of Linear layers, a block allocated after dX and dW and freed at once:
    128 MiB for the MLP's 4096x4096 layers (fp32, grad_output 4096x4096), 31.25 MiB for its
    4096->1000 head (grad_output 4096x1000), and 132-132.75 MiB for BERT's 3072- and
    2304-wide projections under bf16 autocast (grad_output 16384x3072 and 16384x2304). The
    MLP under bf16 autocast peaks 65 MiB above the rule with 16-bit widths. So: two fp32
    copies of grad_output (a split-K partial-sum buffer), at most 132 MiB. Empirical.
    The weight-gradient GEMM is recognised as a backward `mm` whose output has the shape of
    a 2-D parameter (grad_output is then its first operand) or of its transpose (second).
    """
    if out.dim() != 2 or len(args) < 2:
        return 0
    shape = tuple(int(s) for s in out.shape)
    if shape in weight_shapes:
        grad = args[0]
    elif shape[::-1] in weight_shapes:
        grad = args[1]
    else:
        return 0
    numel = grad.numel() if isinstance(grad, torch.Tensor) else 0
    return min(2 * numel * 4, WEIGHT_GRAD_WORKSPACE_CAP)


def conv_workspace_bytes(args, *, backward: bool = False) -> int:
    """cuDNN workspace of one convolution pass (forward, backward-data or backward-filter).

    From the H200 allocator trace of ResNet-18 (fp32, batch 64): the 3x3 convolutions of
    stage 1 (activations 49.0 MiB) take 98.1 MiB in forward and 98.1 + 100.1 MiB in backward,
    stage 2 (24.5 MiB) 49.3 forward and 49.6-77.8 backward, i.e. about twice the larger of
    input and output; the 7x7 stem took 1.2x (forward) and 1.3x (backward). So: workspace =
    2 x bytes of the larger operand. With it, ResNet-50 inference peaks are predicted +5 %
    (fp32, batch 64) and +5 % (bf16 autocast, batch 256) against the H200.
    """
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if len(tensors) < 2:
        return 0
    # forward: (input, weight, bias); backward: (grad_output, input, weight)
    acts = [t for t in tensors if t.dim() >= 3]
    if not acts:
        return 0
    x = max(acts, key=lambda t: t.numel())
    numel = x.numel()
    weight = tensors[1] if tensors[0] is x else tensors[2] if len(tensors) > 2 else tensors[1]
    # output size for the forward pass may exceed the input (stride-1, more channels)
    forward = not backward and len(args) > 3 and isinstance(args[3], (list, tuple))
    if forward and weight.dim() == x.dim():
        # forward: estimate the output from the stride (padding keeps sizes for odd kernels)
        stride = [int(v) for v in args[3]] or [1]
        transposed = len(args) > 6 and bool(args[6])
        cout = int(weight.shape[1] if transposed else weight.shape[0])
        spatial = 1
        for i, size in enumerate(x.shape[2:]):
            st = stride[min(i, len(stride) - 1)]
            spatial *= int(size) * st if transposed else -(-int(size) // st)
        numel = max(numel, int(x.shape[0]) * cout * spatial)
    # The 7x7 stem on 3 channels took 1.2-1.5x rather than 2x; using its own factor made the
    # reserved predictions worse (fragmentation is sensitive to these sizes), so one factor.
    return min(2 * numel * x.element_size(), CONV_WORKSPACE_CAP)


class _CudnnRnnMemory:
    """Memory of cuDNN's RNN kernels, replacing what the CPU's mkldnn RNN allocates.

    On CUDA an nn.LSTM/GRU/RNN runs one `_cudnn_rnn` call for all layers. The H200 allocator
    trace (trace-lstm-64.json: 2-layer LSTM, d=512, hidden=1024, T=256, B=64, fp32) shows, per
    forward: a contiguous (T, B, d) copy of a batch-first input (32 MiB, freed at the end of
    the call), the (T, B, H) output (64 MiB), h_n/c_n, a 429 MiB workspace freed before
    returning and a 704 MiB *reserve space* kept for backward; the batch-first output is a
    transposed view, so the next layer copies it (64 MiB). Backward allocates a contiguous
    grad-output copy, dx, dh/dc, the workspace again, then the weight gradient (= parameter
    bytes) with the workspace once more, and frees the reserve at the end.

    Reserve = 5.5 x and workspace = 3.35 x (layers * T * B * H * element size) for 4 gates;
    other cells are scaled by gate count (GRU 3, RNN 1) - an extrapolation from one model.
    The CPU's own allocations inside the RNN (forward and backward) are not counted.
    """

    RESERVE_PER_GATE = 704 / 128 / 4
    WORKSPACE_PER_GATE = 449839872 / (2 * 256 * 64 * 1024 * 4) / 4

    @classmethod
    def attach(cls, module: torch.nn.RNNBase, recorder, rules: CudaRules) -> None:
        rules.notes.append(
            f"{type(module).__name__}: cuDNN RNN reserve space and workspace modelled from one "
            "measured LSTM; other RNN shapes are extrapolated"
        )
        # Gate-equivalents relative to the measured LSTM (4). A bidirectional 2-layer GRU
        # measured on the H200 (benchmarks/probe_data/gpu-run-h200-*.json) needed 4.6, not
        # its 3 gates (GRU keeps r * (W_hn h + b_hn) as well); vanilla RNNs are unmeasured.
        gates = {"LSTM": 4, "GRU": 4.6}.get(module.mode, 1.5)
        dirs = 2 if module.bidirectional else 1
        layers = module.num_layers * dirs
        hidden = module.hidden_size
        params = [p for p in module.parameters() if p.requires_grad]
        param_bytes = sum(_round_up(p.numel() * p.element_size(), 512) for p in params)
        original_forward = module.forward

        def forward(inp, hx=None):
            x = inp
            if not isinstance(x, torch.Tensor) or x.dim() != 3 or not torch.is_grad_enabled():
                return original_forward(inp, hx)
            batch_first = module.batch_first
            steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
            steps, batch = int(steps), int(batch)
            elem = 2 if torch.is_autocast_cpu_enabled() else x.element_size()
            unit = layers * steps * batch * hidden * elem
            reserve = _round_up(int(unit * gates * cls.RESERVE_PER_GATE), 512)
            workspace = _round_up(int(unit * gates * cls.WORKSPACE_PER_GATE), 512)
            in_bytes = _round_up(x.numel() * elem, 512)
            out_bytes = _round_up(steps * batch * hidden * dirs * elem, 512)
            state = {"pending": len(params), "synthetic": []}
            if x.requires_grad:
                x = _RnnEntry.apply(x, recorder, state)
            if torch.is_autocast_cpu_enabled() and x.dtype == torch.float32:
                # CUDA autocast casts the input (and weights) to 16 bits before cuDNN, which
                # then saves the 16-bit copy, not the fp32 original.
                x = x.to(torch.get_autocast_dtype("cpu"))
            if batch_first:
                recorder.free(recorder.alloc(in_bytes, "temporaries"))  # seq-first copy
            recorder.paused += 1
            try:
                out = _shaped_rnn(module, x, hx, params, elem)
            finally:
                recorder.paused -= 1
            y = out[0] if isinstance(out, tuple) else out
            for t in _tensors(out):
                recorder.track(t, "activations", force=True)
            recorder.free(recorder.alloc(workspace, "workspaces"))
            rid = recorder.alloc(reserve, "activations")
            state["reserve"] = rid
            if torch.is_autocast_cpu_enabled():
                # CUDA autocast re-flattens the weights into one low-precision buffer
                # (aten/src/ATen/cudnn/AutocastRNN.cpp), saved for backward.
                state["synthetic"].append(recorder.alloc(param_bytes // 2, "activations"))
            if y.grad_fn is None:
                recorder.free(rid)
                return out

            def on_accumulated(_param):
                state["pending"] -= 1
                if state["pending"] == 0:
                    _finish_backward(recorder, state, params)

            handles = [p.register_post_accumulate_grad_hook(on_accumulated) for p in params]
            state["handles"] = handles
            y = _RnnBoundary.apply(
                y, recorder, state, (in_bytes, out_bytes, workspace, param_bytes, batch_first)
            )
            if isinstance(out, tuple):
                return (y, *out[1:])
            return y

        module.forward = forward


def _shaped_rnn(module: torch.nn.RNNBase, x: torch.Tensor, hx, params, elem: int):
    """Outputs of the right shapes and autograd links, without running the recurrence.

    The memory of the RNN is modelled separately (cuDNN's, see _CudnnRnnMemory), so the
    CPU recurrence, which for GRU/RNN runs step by step (slow under fake tensors), is
    skipped: a custom autograd function returns empty outputs and zero gradients.
    """
    dirs = 2 if module.bidirectional else 1
    out_size = module.proj_size or module.hidden_size
    b_dim = 0 if module.batch_first else 1
    batch, steps = int(x.shape[b_dim]), int(x.shape[1 - b_dim])
    dtype = torch.bfloat16 if elem == 2 and torch.is_autocast_cpu_enabled() else x.dtype
    # cuDNN produces (T, B, H); batch_first gets a transposed view, which the next layer
    # copies (64 MiB in the LSTM trace) and that copy is what it saves for backward.
    out_shape = (steps, batch, dirs * out_size)
    h_shape = (module.num_layers * dirs, batch, out_size)
    c_shape = (module.num_layers * dirs, batch, module.hidden_size)
    states = []
    if isinstance(hx, tuple):
        states = [h for h in hx if isinstance(h, torch.Tensor)]
    elif isinstance(hx, torch.Tensor):
        states = [hx]
    shapes = [out_shape, h_shape] + ([c_shape] if module.mode == "LSTM" else [])
    outs = _ShapedRnn.apply(shapes, dtype, x, *states, *params)
    y, h = outs[0], outs[1]
    if module.batch_first:
        y = y.transpose(0, 1)
    return (y, (h, outs[2])) if module.mode == "LSTM" else (y, h)


class _ShapedRnn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, shapes, dtype, *tensors):
        ctx.specs = [(t.shape, t.dtype) for t in tensors]
        outs = tuple(torch.empty(s, dtype=dtype, device=tensors[0].device) for s in shapes)
        # cuDNN's backward needs the input and the output: both stay alive until then
        ctx.save_for_backward(tensors[0], outs[0])
        return outs

    @staticmethod
    def backward(ctx, *grads):
        device = grads[0].device
        return (None, None, *(torch.zeros(s, dtype=d, device=device) for s, d in ctx.specs))


def _tensors(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


def _finish_backward(recorder, state, params) -> None:
    """After cuDNN's RNN backward: free its buffers, count the gradients it produced."""
    if state.get("done"):
        return
    state["done"] = True
    for handle in state.get("handles", []):
        handle.remove()
    recorder.paused -= 1
    for uid in state["synthetic"]:
        recorder.free(uid)
    if state.get("reserve") is not None:
        recorder.free(state["reserve"])
    for p in params:
        if p.grad is not None:
            recorder.track(p.grad, "gradients")


class _RnnBoundary(torch.autograd.Function):
    """Identity on the RNN output; its backward marks the start of the RNN's backward."""

    @staticmethod
    def forward(ctx, y, recorder, state, sizes):
        ctx.recorder, ctx.state, ctx.sizes = recorder, state, sizes
        return y.view_as(y)

    @staticmethod
    def backward(ctx, grad):
        recorder, state = ctx.recorder, ctx.state
        in_bytes, out_bytes, workspace, param_bytes, batch_first = ctx.sizes
        synthetic = state["synthetic"]
        recorder.track(grad)  # the incoming gradient exists before the RNN runs
        recorder.paused += 1
        if batch_first:
            synthetic.append(recorder.alloc(out_bytes, "temporaries"))  # contiguous dy
        synthetic.append(recorder.alloc(in_bytes, "temporaries"))  # dx
        recorder.free(recorder.alloc(workspace, "workspaces"))  # backward data
        synthetic.append(recorder.alloc(param_bytes, "gradients"))  # dw
        recorder.free(recorder.alloc(workspace, "workspaces"))  # backward weights
        return grad, None, None, None


class _RnnEntry(torch.autograd.Function):
    """Identity on the RNN input; its backward sees dx after the RNN's backward."""

    @staticmethod
    def forward(ctx, x, recorder, state):
        ctx.recorder, ctx.state = recorder, state
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        if ctx.state.get("done"):
            ctx.recorder.track(grad, "temporaries")
        return grad, None, None


def enable_checkpointing(model: torch.nn.Module) -> None:
    """Wrap the repeated blocks of a model in non-reentrant activation checkpointing.

    Used to verify the "activation checkpointing" suggestion by re-tracing: the children of
    every ModuleList/Sequential with at least two children of the same type are wrapped.
    """
    from torch.utils.checkpoint import checkpoint

    for module in model.modules():
        if not isinstance(module, (torch.nn.ModuleList, torch.nn.Sequential)):
            continue
        children = list(module.children())
        if len(children) < 2 or len({type(c) for c in children}) != 1:
            continue
        for child in children:
            if getattr(child, "_mllint_ckpt", False):
                continue
            original = child.forward

            def wrapped(*a, _f=original, **k):
                if torch.is_grad_enabled():
                    return checkpoint(_f, *a, use_reentrant=False, **k)
                return _f(*a, **k)

            child.forward = wrapped
            child._mllint_ckpt = True


def cublas_workspace_bytes(capability: tuple[int, int] | None) -> int:
    """cuBLAS workspace per handle and stream, by compute capability.

    PyTorch's CublasHandlePool.cpp: `CUBLAS_WORKSPACE_CONFIG` default `:4096:2:16:8` =
    2 x 4 MiB + 8 x 16 KiB = 8.125 MiB; on sm90 (Hopper) and later the default is 4096 KiB x 8 =
    32 MiB. Measured on the H200 (benchmarks/probe_data/gpu-run-h200-*.json): a first `mm`
    leaves 32 MiB allocated, a first `linear` 33 MiB (cuBLASLt adds 1 MiB), and autograd's
    backward thread allocates its own 32 MiB. The calibration harness measured peaks without
    them, so they are counted with the context (`context_bytes`), not in the peak.
    """
    if capability is not None and capability[0] >= 9:
        return 32 * 1024**2
    return 2 * 4 * 1024**2 + 8 * 16 * 1024


def context_bytes(capability: tuple[int, int] | None) -> int:
    """CUDA context + library handles outside PyTorch's allocator.

    Measured on the H200 (torch 2.11, CUDA 13.0, lazy loading): NVML "used" rose from 645 MB
    (driver reserve) to 1296 MB after `torch.cuda.init()` and to 1399 MB after the first
    cuBLAS matmul, i.e. 754 MB; NVML used minus max_memory_reserved after the zoo runs was
    721-745 MiB. PR #86509 measured 287 MB (lazy) to 667 MB (eager) on older stacks. We use
    the H200 figure, which already includes cuBLAS; older GPUs load smaller kernel images, so
    this errs on the safe side for them.
    """
    del capability
    return 754 * 1000**2
