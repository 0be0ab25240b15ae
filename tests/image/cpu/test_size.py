"""The cpu image stays within its size budget: what every analyst pulls and keeps on disk."""

import pytest

# uncompressed, as `docker image inspect -f '{{.Size}}'` gives it (decimal GB)
SIZE_BUDGET = {"cpu": 2_000_000_000}


def test_image_stays_within_its_uncompressed_size_budget(
    docker_client, image_ref, image_name
) -> None:
    if image_name not in SIZE_BUDGET:
        pytest.skip(f"{image_name} has no size budget here (cpu's is for the cpu image)")
    size = docker_client.images.get(image_ref).attrs["Size"]
    assert size <= SIZE_BUDGET[image_name], f"{image_ref} is {size / 1e9:.2f} GB"
