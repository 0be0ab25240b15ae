# IPython defaults of the image: edits to a project's own modules apply without a restart.
c = get_config()  # noqa: F821
c.InteractiveShellApp.extensions = ["autoreload"]
c.InteractiveShellApp.exec_lines = ["%autoreload 2"]
