from tensorflow.keras import layers, models
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=30, width_shift_range=0.1, horizontal_flip=True)
val_datagen = ImageDataGenerator(rescale=1.0 / 255)
train_generator = train_datagen.flow_from_directory("dataset/train", target_size=(128, 128), batch_size=32, class_mode="binary")
validation_generator = val_datagen.flow_from_directory("dataset/validation", target_size=(128, 128), batch_size=32, class_mode="binary")
test_generator = val_datagen.flow_from_directory("dataset/test", target_size=(128, 128), shuffle=False, class_mode="binary")

model = models.Sequential([layers.Conv2D(32, 3, activation="relu", input_shape=(128, 128, 3)), layers.MaxPooling2D(), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(train_generator, epochs=20, validation_data=validation_generator)
print(model.evaluate(test_generator))
