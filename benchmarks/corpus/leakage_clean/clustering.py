import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

customers = pd.read_csv("mall_customers.csv")
X = StandardScaler().fit_transform(customers[["Age", "Income", "SpendingScore"]])
X2 = PCA(n_components=2).fit_transform(X)
for k in range(2, 11):
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    print(k, km.inertia_, silhouette_score(X, km.labels_))
customers["segment"] = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(X)
print(customers.groupby("segment").mean(numeric_only=True))
