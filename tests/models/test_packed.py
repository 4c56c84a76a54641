"""Packed heads compute what each head computes alone: ops, forward, backward, training."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from taskonomy.models import ModelConfig, ModelError, TrainConfig, build_readout, fit
from taskonomy.models.losses import per_image_loss, training_loss
from taskonomy.models.multihead import Head, fit_heads, score_heads
from taskonomy.models.networks import ReadoutModel
from taskonomy.models.pack_plan import pack_groups
from taskonomy.models.packed import PackedHeads
from taskonomy.models.packed_ops import phases_to_axes, shift_sum, upsample_bn_act
from taskonomy.tasks.bank import BUILTIN_TASKS, RELEASE_LABEL_SPACES, OutputKind, TaskInfo

CPU = torch.device("cpu")
B = 6


def cfg(stride: int = 4) -> ModelConfig:
    return ModelConfig(
        width=4,
        blocks=(1, 1, 1),
        image_size=8 * stride,
        representation_channels=4,
        representation_size=8,
        readout_hidden=8,
        decoder_width=8,
        scratch_width=4,
    )


def labels(task: TaskInfo, n: int, size: int, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    if task.output is OutputKind.DENSE_REGRESSION:
        return torch.rand(n, task.channels, size, size, generator=g)
    if task.output is OutputKind.DENSE_CLASSIFICATION:
        return torch.randint(0, task.channels, (n, size, size), generator=g)
    if task.output is OutputKind.IMAGE_DISTRIBUTION:
        return torch.softmax(3 * torch.randn(n, task.channels, generator=g), 1)
    return torch.randint(0, task.channels, (n,), generator=g)


def test_shift_sum_is_a_3x3_convolution_on_sub_pixel_phases() -> None:
    for levels in (0, 1, 2):
        f = 1 << levels
        fine = torch.randn(2, 3, 4 * f, 5 * f, dtype=torch.float64)
        w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
        ref = F.conv2d(fine, w, padding=1)
        # products per tap on the fine grid, then stored as (G=1, 9, C, f, f, B, h, w)
        p = torch.einsum("oitu,biyx->tuobyx", w, fine).reshape(9, 2, 2, 4 * f, 5 * f)
        p = p.reshape(9, 2, 2, 4, f, 5, f).permute(0, 1, 4, 6, 2, 3, 5).unsqueeze(0)
        p.requires_grad_(True)
        out = shift_sum(p)
        back = out[0].permute(3, 0, 4, 1, 5, 2).reshape(2, 2, 4 * f, 5 * f)
        torch.testing.assert_close(back, ref)
        grad = torch.randn_like(out)
        (out * grad).sum().backward()
        numeric = torch.autograd.grad((_slow_shift_sum(p) * grad).sum(), p)[0]
        torch.testing.assert_close(p.grad, numeric)


def _slow_shift_sum(p: Tensor) -> Tensor:
    """shift_sum by padding the fine grid (autograd's own backward)."""
    g, _, c, f, _, b, h, w = p.shape
    fine = p.permute(0, 1, 2, 5, 6, 3, 7, 4).reshape(g, 9, c, b, h * f, w * f)
    pad = F.pad(fine, (1, 1, 1, 1))
    out = sum(pad[:, t, :, :, t // 3 : t // 3 + h * f, t % 3 : t % 3 + w * f] for t in range(9))
    assert isinstance(out, Tensor)
    return out.reshape(g, c, b, h, f, w, f).permute(0, 1, 4, 6, 2, 3, 5)


@pytest.mark.parametrize("training", [True, False])
def test_upsampling_with_folded_batch_norm_matches_the_layers(training: bool) -> None:
    torch.manual_seed(0)
    up = nn.ConvTranspose2d(5, 3, 2, 2, bias=False).double()
    bn = nn.BatchNorm2d(3).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    x = torch.randn(4, 5, 6, 7, dtype=torch.float64).relu() + 0.5  # off-centre inputs
    rm, rv = bn.running_mean.clone(), bn.running_var.clone()
    bn.train(training)
    ref = F.relu(bn(up(x)))  # (B, 3, 12, 14)
    u = x.permute(1, 0, 2, 3).reshape(1, 1, 5, -1)
    z = upsample_bn_act(
        u,
        up.weight.unsqueeze(0),
        bn.weight,
        bn.bias,
        rm,
        rv,
        training=training,
        momentum=0.1,
        eps=1e-5,
        relu=True,
    )
    got = phases_to_axes(z, 1)[0].reshape(3, 2, 2, 4, 6, 7).permute(3, 0, 4, 1, 5, 2)
    torch.testing.assert_close(got.reshape(ref.shape), ref)
    torch.testing.assert_close(rm, bn.running_mean)
    torch.testing.assert_close(rv, bn.running_var)


MIX = ["rgb2depth", "autoencoder", "rgb2depth", "segmentsemantic"]


@pytest.mark.parametrize(
    ("targets", "stem", "stride"),
    [
        (MIX, False, 4),
        (MIX, True, 4),
        (["class_scene"] * 3, False, 4),
        (MIX[:2], False, 1),
        (MIX[:3], False, 8),
    ],
)
def test_a_pack_computes_each_heads_forward_backward_and_state(
    targets: list[str], stem: bool, stride: int
) -> None:
    config = cfg(stride)
    models = [
        build_readout(config, BUILTIN_TASKS[t], 1, s, stem=stem) for s, t in enumerate(targets)
    ]
    (order,) = pack_groups(models, 16)
    models = [models[i] for i in order]
    size, cin = (config.image_size, 3) if stem else (8, 4)
    xs = [torch.randn(B, cin, size, size) for _ in models]
    ys = [labels(m.task, B, config.image_size, i) for i, m in enumerate(models)]
    pack = PackedHeads(models).train()
    ref = []
    for m, x, y in zip(models, xs, ys, strict=True):
        loss = per_image_loss(m.train()(x), y, m.task)
        loss.mean().backward()
        ref.append(loss.detach())
    got = pack.losses(
        pack(PackedHeads.stack_inputs([x.permute(0, 2, 3, 1) for x in xs])),
        [torch.cat([pack.label_layout(ys[j], t) for j in range(a, z)]) for a, z, t in pack.groups],
    )
    got.mean(1).sum().backward()
    torch.testing.assert_close(got, torch.stack(ref), rtol=1e-5, atol=1e-6)
    grads = _unstack_grads(pack)
    states = pack.unpack()
    for j, m in enumerate(models):
        for name, p in m.named_parameters():
            assert p.grad is not None
            # L1's gradient is a sum of signs: a residual within rounding of 0 may flip one
            torch.testing.assert_close(grads[j][name], p.grad, rtol=1e-4, atol=1e-4)
        for name, v in m.state_dict().items():
            torch.testing.assert_close(states[j][name].to(v.dtype), v, rtol=1e-5, atol=1e-6)
    pack.eval()
    with torch.no_grad():
        xe = PackedHeads.stack_inputs([x.permute(0, 2, 3, 1) for x in xs])
        lab = [
            torch.cat([pack.label_layout(ys[j], t) for j in range(a, z)]) for a, z, t in pack.groups
        ]
        evals = pack.losses(pack(xe), lab)
        for j, m in enumerate(models):
            alone = per_image_loss(m.eval()(xs[j]), ys[j], m.task)
            torch.testing.assert_close(evals[j], alone, rtol=1e-5, atol=1e-6)


def _unstack_grads(pack: PackedHeads) -> list[dict[str, Tensor]]:
    out: list[dict[str, Tensor]] = [{} for _ in range(pack.n)]
    for name, p in pack.p.items():
        assert p.grad is not None
        key = name.split("__", 1)[1] if name.startswith("g") and name[1].isdigit() else name
        group = int(name[1 : name.index("__")]) if key != name else None
        rows = (
            range(pack.groups[group][0], pack.groups[group][1])
            if group is not None
            else range(pack.n)
        )
        for k, j in enumerate(rows):
            out[j][key.replace("__", ".")] = p.grad[k]
    return out


def test_heads_of_different_architectures_do_not_pack() -> None:
    a = build_readout(cfg(), BUILTIN_TASKS["rgb2depth"], 1, 0)
    b = build_readout(cfg(), BUILTIN_TASKS["rgb2depth"], 2, 0)  # second order: 8 channels in
    c = build_readout(cfg(), BUILTIN_TASKS["class_scene"], 1, 0)
    groups = pack_groups([a, b, a, c, a], 2)
    assert sorted(map(sorted, groups)) == [[0, 2], [1], [3], [4]]


def _heads(n: int, poison: int | None = None) -> tuple[list[Head], list[ReadoutModel]]:
    """Transfers into two targets from random features; ``poison`` gets NaN inputs."""
    config = cfg()
    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(40, 8, 8, 4, generator=gen) for _ in range(n)]
    if poison is not None:
        feats[poison] = feats[poison] * float("nan")
    heads, models = [], []
    for i in range(n):
        task = BUILTIN_TASKS["rgb2depth" if i % 2 else "segmentsemantic"]
        y = labels(task, 40, 32, seed=i % 2)
        train = TrainConfig(steps=7, batch_size=8, lr=3e-3, seed=100 + i)
        idx = np.stack(
            [
                np.random.default_rng([train.seed, s]).choice(40, 8, replace=False)
                for s in range(train.steps)
            ]
        )
        heads.append(
            Head(
                build_readout(config, task, 1, train.seed),
                feats[i],
                y,
                train,
                idx,
                label=f"head{i}",
            )
        )
        models.append(build_readout(config, task, 1, train.seed))
    return heads, models


def test_training_packed_equals_training_each_head_alone() -> None:
    heads, models = _heads(5)
    packed = fit_heads(heads, CPU, limit=3)  # two packs, each with both targets
    for head, model, (result, state) in zip(heads, models, packed, strict=True):
        x = head.inputs.permute(0, 3, 1, 2)  # type: ignore[union-attr]
        assert head.indices is not None and head.train is not None
        alone = fit(
            model,
            lambda step, x=x, h=head: (x[h.indices[step]], h.labels[h.indices[step]]),  # type: ignore[index]
            lambda pred, y, t=model.task: training_loss(pred, y, t),
            head.train,
            CPU,
        )
        assert result.steps == alone.steps == 7
        assert result.final_loss == pytest.approx(alone.final_loss, rel=1e-4)
        for k, v in model.state_dict().items():
            torch.testing.assert_close(state[k].to(v.dtype), v, rtol=1e-4, atol=1e-5)
    losses = score_heads(
        [Head(m, h.inputs, h.labels) for m, h in zip(models, heads, strict=True)],
        40,
        CPU,
        limit=4,
        chunk=16,
    )
    for m, h, loss in zip(models, heads, losses, strict=True):
        with torch.no_grad():
            x = h.inputs.permute(0, 3, 1, 2)  # type: ignore[union-attr]
            alone = per_image_loss(m.eval()(x), h.labels, m.task).numpy()  # type: ignore[arg-type]
        np.testing.assert_allclose(loss, alone, rtol=1e-5, atol=1e-6)


def test_packed_training_is_exact_in_float64() -> None:
    """Heads of a pack never mix: in float64 (no rounding to hide behind) a mixed pack of
    scratch baselines (L1 targets of 1 and 3 channels through the shift-sum, 6-class
    cross-entropy through the grouped conv, image-level heads with hard and soft labels)
    ends with each head's weights."""
    config = cfg(2)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(24, 3, 16, 16, generator=gen, dtype=torch.float64)
    heads = []
    names = ["rgb2depth", "segmentsemantic", "rgb2depth", "class_scene", "autoencoder"]
    tasks = [BUILTIN_TASKS[n] for n in names] + [RELEASE_LABEL_SPACES["class_object"]]
    for i, task in enumerate(tasks):
        train = TrainConfig(steps=6, batch_size=8, lr=3e-3, seed=7 + i)
        idx = np.stack(
            [
                np.random.default_rng([train.seed, s]).choice(24, 8, replace=False)
                for s in range(train.steps)
            ]
        )
        y = (
            labels(task, 24, 16, seed=i).double()
            if task.output in (OutputKind.DENSE_REGRESSION, OutputKind.IMAGE_DISTRIBUTION)
            else labels(task, 24, 16, seed=i)
        )
        model = build_readout(config, task, 1, train.seed, stem=True).double()
        heads.append(Head(model, images.permute(0, 2, 3, 1).contiguous(), y, train, idx))
    packed = fit_heads(heads, CPU)
    for h, (_, state) in zip(heads, packed, strict=True):
        assert h.train is not None and h.indices is not None
        model = build_readout(config, h.model.task, 1, h.train.seed, stem=True).double()
        y = h.labels
        assert isinstance(y, Tensor)
        fit(
            model,
            lambda step, h=h, y=y: (images[h.indices[step]], y[h.indices[step]]),  # type: ignore[index]
            lambda pred, t, task=model.task: training_loss(pred, t, task),
            h.train,
            CPU,
        )
        for k, v in model.state_dict().items():
            torch.testing.assert_close(state[k].to(v.dtype), v, rtol=1e-10, atol=1e-12)


def test_a_diverging_head_is_named_and_does_not_touch_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heads, _ = _heads(3, poison=1)
    log = logging.getLogger("packed-test")
    for h in heads:
        h.log = log
    with (
        caplog.at_level(logging.INFO, logger="packed-test"),
        pytest.raises(ModelError, match=r"not finite .*head1 \(nan\)") as err,
    ):
        fit_heads(heads, CPU)
    assert "head0" not in str(err.value) and "head2" not in str(err.value)
    finite = [r.message for r in caplog.records if "head0" in r.message or "head2" in r.message]
    assert finite and all("nan" not in m for m in finite)


def test_heads_the_packer_cannot_take_train_and_score_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from taskonomy.models import pack_plan, packed

    reference = fit_heads(_heads(2)[0], CPU)
    heads, _ = _heads(2)

    def unknown(model: ReadoutModel) -> None:
        raise pack_plan.PackError("not this one")

    monkeypatch.setattr(pack_plan, "plan", unknown)
    monkeypatch.setattr(packed, "plan", unknown)
    alone = fit_heads(heads, CPU)
    for (a, sa), (b, sb) in zip(alone, reference, strict=True):
        assert a.final_loss == pytest.approx(b.final_loss, rel=1e-4)
        for k in sb:
            torch.testing.assert_close(sa[k].to(sb[k].dtype), sb[k], rtol=1e-3, atol=1e-4)
    for h, (_, state) in zip(heads, alone, strict=True):
        h.model.load_state_dict(state)
    losses = score_heads(heads, 40, CPU)
    for h, loss in zip(heads, losses, strict=True):
        with torch.no_grad():
            x = h.inputs.permute(0, 3, 1, 2)  # type: ignore[union-attr]
            want = per_image_loss(h.model.eval()(x), h.labels, h.model.task)  # type: ignore[arg-type]
        np.testing.assert_allclose(loss, want.numpy(), rtol=1e-5, atol=1e-6)
