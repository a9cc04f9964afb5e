#!/usr/bin/python3
"""Trains the demo fraud model and writes fraud_model.txt.

The transaction process below is the one `mlmon demo` generates traffic from
(see tools/demo/traffic.cc); keep the two in step. Run with
Debian's /usr/bin/python3 (python3-sklearn, python3-numpy):

    tools/demo/train_model.py > tools/demo/fraud_model.txt
"""
import numpy as np
from sklearn.linear_model import LogisticRegression

FEATURES = [
    # name, transform applied by the model before standardisation
    ("amount_usd", "log1p"),
    ("account_age_days", "log1p"),
    ("tx_last_24h", "identity"),
    ("distance_km", "log1p"),
    ("session_seconds", "log1p"),
]


def generate(n, rng):
    fraud = rng.random(n) < 0.10
    amount = np.where(fraud, rng.lognormal(4.2, 1.0, n), rng.lognormal(3.5, 1.0, n))
    age = np.where(fraud, rng.exponential(300, n), rng.exponential(800, n))
    tx = np.where(fraud, rng.poisson(3, n), rng.poisson(2, n)).astype(float)
    dist = np.where(fraud, rng.exponential(60, n), rng.exponential(20, n))
    session = np.where(fraud, rng.lognormal(np.log(150), 0.6, n),
                       rng.lognormal(np.log(300), 0.5, n))
    return np.column_stack([amount, age, tx, dist, session]), fraud.astype(int)


def transform(x):
    out = x.copy()
    for j, (_, t) in enumerate(FEATURES):
        if t == "log1p":
            out[:, j] = np.log1p(out[:, j])
    return out


def main():
    rng = np.random.default_rng(20261126)
    x, y = generate(50000, rng)
    z = transform(x)
    mean, scale = z.mean(axis=0), z.std(axis=0)
    model = LogisticRegression(C=1.0, max_iter=1000).fit((z - mean) / scale, y)
    xv, yv = generate(20000, rng)
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score(yv, model.predict_proba((transform(xv) - mean) / scale)[:, 1])
    print("# mlmon demo fraud model: logistic regression trained by")
    print("# tools/demo/train_model.py (scikit-learn) on 50,000")
    print("# synthetic transactions. score = sigmoid(bias + sum_i w_i * (t_i(x_i) - mean_i) / scale_i)")
    print("# a missing feature contributes 0 (it is imputed with its mean).")
    print(f"# held-out ROC AUC on 20,000 fresh transactions: {auc:.3f}")
    print("model fraud")
    print(f"bias {model.intercept_[0]:.9g}")
    print("# feature name transform mean scale weight")
    for j, (name, t) in enumerate(FEATURES):
        print(f"feature {name} {t} {mean[j]:.9g} {scale[j]:.9g} {model.coef_[0][j]:.9g}")


if __name__ == "__main__":
    main()
