# Jupyter server settings of the image. No token or password is stored here: Jupyter reads
# the token from JUPYTER_TOKEN when it starts (without it, it makes a random one and logs it).
import os
import sys

c = get_config()  # noqa: F821
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
# ~/.jupyter/custom/custom.css
c.LabApp.custom_css = True
# JupyterLab's defaults are the image's (lab/settings/overrides.json): vim key bindings
# installed but off, no news or update checks. JUPYTERLAB_VIM=1 turns vim on for everyone in
# the container: lab/settings-vim/ holds the same defaults (overrides.d/) with vim on. A user
# turns it on or off for themselves in JupyterLab (Settings > Enable Vim Mode), which wins.
if os.environ.get("JUPYTERLAB_VIM", "").lower() in ("1", "true", "yes", "on"):
    c.LabApp.app_settings_dir = os.path.join(sys.prefix, "share/jupyter/lab/settings-vim")
