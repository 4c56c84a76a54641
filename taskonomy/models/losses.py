"""Each task's own loss, per image (docs/method.md, Stage III: lower is better).

:func:`per_image_loss` takes predictions and labels in the bank's formats; training
minimises its batch mean (:func:`training_loss`), so what a network is trained on and
what the tournament scores it by are the same number.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from taskonomy.models.config import ModelError
from taskonomy.tasks.bank import Loss, OutputKind, TaskInfo

#: The loss each output kind may declare; anything else has no decoder here.
SUPPORTED_LOSSES: dict[OutputKind, tuple[Loss, ...]] = {
    OutputKind.DENSE_REGRESSION: (Loss.L1, Loss.L2),
    OutputKind.DENSE_CLASSIFICATION: (Loss.CROSS_ENTROPY,),
    OutputKind.IMAGE_CLASSIFICATION: (Loss.CROSS_ENTROPY,),
    OutputKind.IMAGE_MULTILABEL: (Loss.BCE,),
    OutputKind.IMAGE_DISTRIBUTION: (Loss.CROSS_ENTROPY,),
    OutputKind.IMAGE_REGRESSION: (Loss.L1, Loss.L2),
}


def check_supported(task: TaskInfo) -> None:
    """Raise :class:`ModelError` unless the models can decode and score ``task``."""
    if task.output is OutputKind.NONE:
        raise ModelError(
            f"task {task.name!r} has no output (an untrained source such as the random "
            "projection): it has an encoder but no decoder, loss or evaluation"
        )
    allowed = SUPPORTED_LOSSES.get(task.output, ())
    if task.loss not in allowed:
        raise ModelError(
            f"task {task.name!r} pairs output {task.output.value!r} with loss "
            f"{task.loss.value!r}; the models support {[a.value for a in allowed]} for it"
        )
    if task.channels < 1:
        raise ModelError(f"task {task.name!r} declares {task.channels} channels; need >= 1")
    if task.views != 1:
        raise ModelError(
            f"task {task.name!r} needs {task.views} views per sample; the models take one "
            "image per sample (multi-view tasks need the real Taskonomy data and a "
            "multi-view encoder, not implemented yet)"
        )


def per_image_loss(pred: Tensor, target: Tensor, task: TaskInfo) -> Tensor:
    """The task's loss for each image: shape ``(B,)``, float32.

    L1/L2 average over channels and pixels, cross-entropy over pixels, BCE over classes.
    For a distribution (the release's soft class labels) the cross-entropy is against the
    target distribution, ``-sum_c p_c log softmax(pred)_c``: the same loss as for a hard
    label when ``p`` is one-hot, and KL(p || q) plus p's entropy otherwise.

    Args:
        pred: ``(B, C, H, W)`` for dense kinds (logits for classification), ``(B, C)``
            for image-level kinds (logits for classification and multilabel).
        target: a batch of labels in the bank's format.
        task: whose loss to use.
    """
    pred = pred.float()
    if task.loss is Loss.CROSS_ENTROPY and task.output is OutputKind.IMAGE_DISTRIBUTION:
        return -(target.float() * F.log_softmax(pred, dim=1)).sum(1)
    if task.loss is Loss.CROSS_ENTROPY:
        return F.cross_entropy(pred, target.long(), reduction="none").reshape(len(pred), -1).mean(1)
    if task.loss is Loss.BCE:
        out = F.binary_cross_entropy_with_logits(pred, target.float(), reduction="none")
    elif task.loss is Loss.L1:
        out = (pred - target.float()).abs()
    elif task.loss is Loss.L2:
        out = (pred - target.float()).square()
    else:
        raise ModelError(f"task {task.name!r} has no loss ({task.loss.value!r})")
    return out.reshape(len(pred), -1).mean(1)


def training_loss(pred: Tensor, target: Tensor, task: TaskInfo) -> Tensor:
    """The scalar training loss: the mean of :func:`per_image_loss` over the batch."""
    return per_image_loss(pred, target, task).mean()
