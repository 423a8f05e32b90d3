import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from tensorflow.keras.layers import LSTM, Dense, Embedding
from tensorflow.keras.models import Sequential
from tensorflow.keras.preprocessing.sequence import pad_sequences
from tensorflow.keras.preprocessing.text import Tokenizer

tweets = pd.read_csv("tweets.csv")
tweets["text"] = tweets["text"].str.lower().str.replace(r"http\S+", "", regex=True)
train_text, test_text, train_y, test_y = train_test_split(tweets["text"], tweets["label"], test_size=0.2, random_state=1)

tok = Tokenizer(num_words=20000, oov_token="<unk>")
tok.fit_on_texts(train_text)
Xtr = pad_sequences(tok.texts_to_sequences(train_text), maxlen=60)
Xte = pad_sequences(tok.texts_to_sequences(test_text), maxlen=60)
model = Sequential([Embedding(20000, 64), LSTM(64), Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(Xtr, np.asarray(train_y), epochs=3, batch_size=128, validation_split=0.1)
print(model.evaluate(Xte, np.asarray(test_y)))
