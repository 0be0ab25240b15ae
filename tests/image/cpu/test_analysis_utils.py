"""The bundled library works inside the image: a fold split and an optimizer step."""

import json

import pytest

SCRIPT = r"""
import json
import numpy as np
from analysis_utils import ContinuousStratifiedKFold, RAdamNumpy
rng = np.random.default_rng(0)
y = rng.lognormal(size=200)
X = np.zeros((200, 1))
folds = [test for _, test in ContinuousStratifiedKFold(n_splits=5, shuffle=True,
                                                       random_state=0).split(X, y)]
w = np.array([1.0, -2.0])
RAdamNumpy([w], lr=0.1).step([np.array([0.5, -0.5])])
print(json.dumps({"fold_sizes": [len(f) for f in folds],
                  "covered": sorted(np.concatenate(folds).tolist()) == list(range(200)),
                  "w": w.tolist()}))
"""


# pure Python on numpy (whose import every platform checks): the same on every platform
@pytest.mark.same_on_every_platform
def test_fold_split_and_radam_step_run_in_the_image(host) -> None:
    result = host.run("python -c %s", SCRIPT)
    assert result.rc == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["fold_sizes"] == [40] * 5 and out["covered"]
    # first steps are the un-adapted momentum update: w - lr * g (bias-corrected m = g)
    assert out["w"] == [0.95, -1.95]
