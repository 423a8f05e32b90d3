"""Keras image classifier: TensorBoard, ModelCheckpoint (best only), EarlyStopping."""

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(1)
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255

inputs = keras.Input(shape=(32, 32, 3))
x = layers.Conv2D(32, 3, activation="relu")(inputs)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(64, 3, activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

callbacks = [
    keras.callbacks.TensorBoard(log_dir="logs/cifar"),
    keras.callbacks.ModelCheckpoint("cifar_best.keras", monitor="val_accuracy", save_best_only=True),
    keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True),
]
history = model.fit(x_train, y_train, batch_size=64, epochs=50, validation_split=0.1, callbacks=callbacks)
test_loss, test_acc = model.evaluate(x_test, y_test)
print(f"test accuracy: {test_acc:.4f}")
plot_history = np.array(history.history["val_accuracy"])
