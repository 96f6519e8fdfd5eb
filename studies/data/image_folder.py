"""Images in class folders, read with keras.utils.image_dataset_from_directory: a data module
for your own pictures. The folder (HPO_IMAGE_FOLDER, default studies/data/images) holds

    train/<class name>/*.png     the search's data: 80% trains, 20% validates (a fixed split)
    test/<class name>/*.png      optional: scored once, by hpo best

with the same class folders in both. Any image size works: every image is resized to
IMAGE_SIZE. hpo batches the images with each trial's batch_size (batch_size=None below).

There is no such folder in a fresh clone: make a demo one from scikit-learn's bundled digits
(1,797 8x8 images, written as PNG files) with

    python studies/data/image_folder.py
"""

import os
import sys
from pathlib import Path

import keras

from hpo import Data

FOLDER = Path(os.environ.get("HPO_IMAGE_FOLDER", Path(__file__).parent / "images"))
IMAGE_SIZE = (16, 16)


def load(seed):
    if not (FOLDER / "train").is_dir():
        raise FileNotFoundError(f"no image folder {FOLDER / 'train'}; set HPO_IMAGE_FOLDER, or make the demo "
                                "folder with: python studies/data/image_folder.py")

    def images(folder, **split):
        stream = keras.utils.image_dataset_from_directory(
            folder, image_size=IMAGE_SIZE, color_mode="grayscale", batch_size=None, label_mode="int",
            seed=0, verbose=False, **split)
        return stream.map(lambda image, label: (image / 255.0, label))  # pixels in [0, 1]

    # The validation split is fixed (seed=0): the search compares trials on the same images.
    train = images(FOLDER / "train", validation_split=0.2, subset="training")
    validation = images(FOLDER / "train", validation_split=0.2, subset="validation")
    test = images(FOLDER / "test", shuffle=False) if (FOLDER / "test").is_dir() else None
    return Data(train, validation=validation, test=test)


def write_demo_folder(folder, per_class=None):
    """scikit-learn's digits as PNG files: 80% under train/, 20% under test/ (per_class: at
    most that many images of each digit, for a small folder)."""
    import numpy as np
    import tensorflow as tf
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts = {}
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        counts[label] = counts.get(label, 0) + 1
        if per_class is not None and counts[label] > per_class:
            continue
        part = "test" if index % 5 == 0 else "train"
        path = Path(folder) / part / f"digit_{label}" / f"{index:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = (image * (255 / 16)).round().astype(np.uint8)[..., np.newaxis]
        path.write_bytes(tf.io.encode_png(pixels).numpy())


if __name__ == "__main__":
    destination = Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER
    write_demo_folder(destination)
    print(f"wrote the digits as PNG files under {destination}")
