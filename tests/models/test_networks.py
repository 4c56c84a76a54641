"""Shapes of every mini task's decoder and loss, readouts of order 1-3, model files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from taskonomy.models import (
    ModelConfig,
    ModelError,
    TrainConfig,
    build_readout,
    build_task_network,
    load_readout,
    load_task_network,
    per_image_loss,
    save_model,
    training_loss,
)
from taskonomy.tasks.bank import BUILTIN_TASKS, RELEASE_LABEL_SPACES, OutputKind, TaskInfo

CFG = ModelConfig(
    width=8,
    blocks=(1, 1),
    image_size=32,
    representation_channels=8,
    representation_size=8,
    readout_hidden=16,
    decoder_width=16,
)
B = 3
MINI_TASKS = [t for t in BUILTIN_TASKS.values() if t.mini and t.output is not OutputKind.NONE]


def random_labels(task: TaskInfo, batch: int = B, size: int = 32) -> torch.Tensor:
    """A batch of labels in the bank's format for ``task``."""
    if task.output is OutputKind.DENSE_REGRESSION:
        return torch.rand(batch, task.channels, size, size)
    if task.output is OutputKind.DENSE_CLASSIFICATION:
        return torch.randint(0, task.channels, (batch, size, size))
    if task.output is OutputKind.IMAGE_CLASSIFICATION:
        return torch.randint(0, task.channels, (batch,))
    if task.output is OutputKind.IMAGE_MULTILABEL:
        return torch.randint(0, 2, (batch, task.channels)).float()
    return torch.randn(batch, task.channels)


def expected_shape(task: TaskInfo, size: int = 32) -> tuple[int, ...]:
    if task.output in (OutputKind.DENSE_REGRESSION, OutputKind.DENSE_CLASSIFICATION):
        return (B, task.channels, size, size)
    return (B, task.channels)


@pytest.mark.parametrize("task", MINI_TASKS, ids=lambda t: t.name)
def test_task_network_decoder_and_loss_shapes(task: TaskInfo) -> None:
    net = build_task_network(CFG, task, seed=0)
    images = torch.rand(B, 3, 32, 32)
    assert net.encode(images).shape == (B, 8, 8, 8)
    pred = net(images)
    assert pred.shape == expected_shape(task)
    labels = random_labels(task)
    losses = per_image_loss(pred, labels, task)
    assert losses.shape == (B,)
    assert losses.dtype == torch.float32
    assert torch.isfinite(losses).all() and (losses >= 0).all()
    assert training_loss(pred, labels, task).shape == ()


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("name", ["rgb2sfnorm", "segmentsemantic", "class_scene", "room_layout"])
def test_readout_orders(order: int, name: str) -> None:
    task = BUILTIN_TASKS[name]
    model = build_readout(CFG, task, order, seed=1)
    features = torch.randn(B, 8 * order, 8, 8)
    assert model(features).shape == expected_shape(task)


def test_scratch_feeds_the_same_readout_from_a_stem() -> None:
    task = BUILTIN_TASKS["rgb2depth"]
    model = build_readout(CFG, task, 1, seed=0, stem=True)
    assert model.stem is not None
    assert model.stem(torch.rand(B, 3, 32, 32)).shape == (B, 8, 8, 8)
    assert model(torch.rand(B, 3, 32, 32)).shape == (B, 1, 32, 32)


def test_per_image_losses_match_hand_computation() -> None:
    depth = BUILTIN_TASKS["rgb2depth"]
    pred, label = (
        torch.zeros(2, 1, 2, 2),
        torch.tensor([1.0, 2.0]).view(2, 1, 1, 1).expand(2, 1, 2, 2),
    )
    assert per_image_loss(pred, label, depth).tolist() == [1.0, 2.0]
    seg = BUILTIN_TASKS["segmentsemantic"]
    logits = torch.zeros(1, seg.channels, 2, 2)
    loss = per_image_loss(logits, torch.zeros(1, 2, 2, dtype=torch.long), seg)
    assert loss.item() == pytest.approx(float(torch.log(torch.tensor(float(seg.channels)))))


@pytest.mark.parametrize("name", sorted(RELEASE_LABEL_SPACES))
def test_release_label_spaces_have_decoders_of_their_size(name: str) -> None:
    task = RELEASE_LABEL_SPACES[name]
    net = build_task_network(CFG, task, seed=0)
    out = net(torch.rand(B, 3, 32, 32))
    dense = task.output is OutputKind.DENSE_CLASSIFICATION
    assert out.shape == ((B, task.channels, 32, 32) if dense else (B, task.channels))


def test_soft_cross_entropy_is_against_the_target_distribution() -> None:
    scene = RELEASE_LABEL_SPACES["class_scene"]
    logits = torch.randn(2, scene.channels, generator=torch.Generator().manual_seed(0))
    soft = torch.softmax(torch.randn(2, scene.channels), 1)
    want = -(soft * torch.log_softmax(logits, 1)).sum(1)
    assert torch.allclose(per_image_loss(logits, soft, scene), want)
    # A one-hot distribution gives the hard-label cross-entropy.
    hard = torch.tensor([3, 7])
    onehot = torch.nn.functional.one_hot(hard, scene.channels).float()
    ce = torch.nn.functional.cross_entropy(logits, hard, reduction="none")
    assert torch.allclose(per_image_loss(logits, onehot, scene), ce)
    # The minimum over predictions is the target's entropy, reached at the target.
    entropy = -(soft * soft.log()).sum(1)
    assert torch.allclose(per_image_loss(soft.log(), soft, scene), entropy, atol=1e-5)


def test_random_projection_encodes_but_has_no_decoder() -> None:
    net = build_task_network(CFG, BUILTIN_TASKS["random_projection"], seed=3)
    again = build_task_network(CFG, BUILTIN_TASKS["random_projection"], seed=3)
    for a, b in zip(net.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert net.decoder is None
    assert net.encode(torch.rand(B, 3, 32, 32)).shape == (B, 8, 8, 8)
    with pytest.raises(ModelError, match="no decoder"):
        net(torch.rand(B, 3, 32, 32))


def test_model_files_round_trip(tmp_path: Path) -> None:
    task = BUILTIN_TASKS["class_scene"]
    net = build_task_network(CFG, task, seed=0).eval()
    save_model(net, tmp_path / "network.pt")
    loaded = load_task_network(tmp_path / "network.pt")
    images = torch.rand(B, 3, 32, 32)
    assert torch.equal(net(images), loaded(images))
    head = build_readout(CFG, task, 2, seed=0).eval()
    save_model(head, tmp_path / "model.pt", {"sources": ["a", "b"]})
    back, extra = load_readout(tmp_path / "model.pt")
    assert extra == {"sources": ["a", "b"]}
    features = torch.randn(B, 16, 8, 8)
    assert torch.equal(head(features), back(features))
    with pytest.raises(ModelError, match="not a 'readout'"):
        load_readout(tmp_path / "network.pt")


def test_resnet50_trunk_reaches_the_representation() -> None:
    cfg = ModelConfig(family="resnet50", image_size=32, representation_size=4)
    net = build_task_network(cfg, BUILTIN_TASKS["rgb2depth"], seed=0).eval()
    with torch.no_grad():
        assert net.encode(torch.rand(1, 3, 32, 32)).shape == (1, 8, 4, 4)
        assert net(torch.rand(1, 3, 32, 32)).shape == (1, 1, 32, 32)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"image_size": 32, "representation_size": 3}, "power of two"),
        ({"image_size": 32, "representation_size": 2, "blocks": (1, 1)}, "add a stage"),
        ({"family": "resnet50", "image_size": 32, "representation_size": 8}, "resnet50"),
        ({"family": "vgg"}, "unknown encoder family"),
    ],
)
def test_config_errors_say_what_to_change(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ModelError, match=match):
        ModelConfig(**kwargs)  # type: ignore[arg-type]


def test_model_config_from_spec_params() -> None:
    params = {
        "encoder": {"family": "resnet_mini", "width": 16, "blocks": [1, 1]},
        "representation": {"channels": 8, "size": 8},
        "readout": {"hidden": 32},
    }
    cfg = ModelConfig.from_params(params, 32)
    assert (cfg.width, cfg.blocks, cfg.stride, cfg.readout_hidden) == (16, (1, 1), 4, 32)
    with pytest.raises(ModelError, match="model params lack"):
        ModelConfig.from_params({"encoder": {}}, 32)


def test_epochs_become_steps() -> None:
    cfg = TrainConfig.from_params({"epochs": 1.5, "batch_size": 32, "seed": 4}, n_train=100)
    assert cfg.steps == 5
    assert cfg.seed == 4
    with pytest.raises(ModelError, match="neither steps nor epochs"):
        TrainConfig.from_params({"batch_size": 8}, n_train=10)
