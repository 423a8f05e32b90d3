import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline

reviews = pd.read_csv("imdb.csv")
reviews["review"] = reviews["review"].str.lower().str.replace("<br />", " ")
X_train, X_test, y_train, y_test = train_test_split(
    reviews["review"], reviews["sentiment"], test_size=0.2, random_state=42
)
text_clf = make_pipeline(TfidfVectorizer(min_df=2, ngram_range=(1, 2)), SGDClassifier(random_state=42))
print("cv", cross_val_score(text_clf, X_train, y_train, cv=5).mean())
text_clf.fit(X_train, y_train)
print("test", accuracy_score(y_test, text_clf.predict(X_test)))

vectorizer = TfidfVectorizer(max_features=20000)
Xtr = vectorizer.fit_transform(X_train)
Xte = vectorizer.transform(X_test)
print(Xtr.shape, Xte.shape)
