# Jupyter server settings of the image. No token or password is stored here: Jupyter reads
# the token from JUPYTER_TOKEN when it starts (without it, it makes a random one and logs it).
c = get_config()  # noqa: F821
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
# ~/.jupyter/custom/custom.css
c.LabApp.custom_css = True
