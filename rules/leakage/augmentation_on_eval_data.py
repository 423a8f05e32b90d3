"""ML206 augmentation-on-eval-data: random training transforms on validation/test data."""

from __future__ import annotations

from mllint.analysis.leakage import LeakageRule
from mllint.diagnostic import Severity


class AugmentationOnEvalData(LeakageRule):
    """
    ## What it does
    Reports random, training-time augmentation (torchvision or albumentations
    `RandomResizedCrop`, `RandomHorizontalFlip`, `ColorJitter`, `RandAugment`, ..., or a
    Keras `ImageDataGenerator` with `rotation_range`, `horizontal_flip`, ...) applied to
    evaluation data: a dataset built with `train=False`, `split="val"`/`"test"`, a
    validation or test directory, the test side of a split, or
    `flow_from_directory(..., subset="validation")` on the augmenting generator.

    ## Why is this bad?
    Validation and test scores should measure the model on the images as they are.
    Random crops and flips make the score noisy from run to run and usually lower, and
    early stopping or checkpoint selection on that noise picks the wrong epoch.
    Evaluation uses a deterministic transform (resize, center crop, normalize).

    ## Example
    ```python
    train_tf = transforms.Compose([transforms.RandomResizedCrop(224), transforms.ToTensor()])
    val_set = datasets.ImageFolder("data/val", transform=train_tf)
    ```

    ## Use instead
    ```python
    val_tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224),
                                 transforms.ToTensor()])
    val_set = datasets.ImageFolder("data/val", transform=val_tf)
    ```

    ## References
    - [torchvision: transforming and augmenting images](https://pytorch.org/vision/stable/transforms.html)
    - [Keras ImageDataGenerator `validation_split`](https://keras.io/api/data_loading/image/)
    """

    code = "ML206"
    name = "augmentation-on-eval-data"
    category = "leakage"
    severity = Severity.WARNING
    requires_imports = frozenset({"torchvision", "albumentations", "keras", "tensorflow"})
