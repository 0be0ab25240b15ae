"""`docker run IMAGE` gives JupyterLab that wants the run-time token."""


def test_jupyter_api_answers_with_the_token(jupyter) -> None:
    code, body = jupyter.api("/api/status", token=jupyter.token)
    assert code == 200, body


def test_jupyter_refuses_a_request_without_the_token(jupyter) -> None:
    code, _ = jupyter.api("/api/status")
    assert code == 403


def test_jupyterlab_is_the_default_command(jupyter) -> None:
    code, body = jupyter.api("/lab", token=jupyter.token)
    assert code == 200 and "JupyterLab" in body
