"""XGBoost trains on the GPU (device="cuda")."""

from __future__ import annotations

import json
from types import ModuleType


def test_xgboost_fits_on_cuda_and_beats_the_mean(
    xgboost: ModuleType, numpy: ModuleType, cuda: object
) -> None:
    np = numpy
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 8)).astype(np.float32)
    target = features[:, 0] * 2 - features[:, 1] ** 2 + rng.normal(scale=0.1, size=2000)
    model = xgboost.XGBRegressor(device="cuda", tree_method="hist", n_estimators=50)
    model.fit(features, target)
    config = json.loads(model.get_booster().save_config())
    assert config["learner"]["generic_param"]["device"].startswith("cuda")
    mse = float(np.mean((model.predict(features) - target) ** 2))
    assert mse < 0.2 * float(np.var(target)), f"the fit explains too little (MSE {mse:.3f})"
