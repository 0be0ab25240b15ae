"""Test harnesses: real parts run on this host for the end-to-end tests and the benches (a
pipeline under gitlab-ci-local, a JupyterHub with DockerSpawner, the npm tools both need).
No `imagectl` command uses them; the tests import them as `harness`, the scripts in scripts/
put tests/ on sys.path first."""
