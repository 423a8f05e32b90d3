import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

logs = pd.read_parquet("server_metrics.parquet")
num = logs.select_dtypes("number")
scaled = StandardScaler().fit_transform(num)
iso = IsolationForest(contamination=0.01, random_state=0).fit(scaled)
logs["anomaly"] = iso.predict(scaled) == -1
logs["zscore_cpu"] = (logs["cpu"] - logs["cpu"].mean()) / logs["cpu"].std()
print(logs[logs["anomaly"]].head(20))
logs.to_parquet("flagged.parquet")
