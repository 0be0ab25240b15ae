# IPython defaults of the image: edits to a project's own modules apply without a restart, and
# %pip installs into the user's home what then imports at once (analysis_template_site).
c = get_config()  # noqa: F821
c.InteractiveShellApp.extensions = ["autoreload", "analysis_template_site"]
c.InteractiveShellApp.exec_lines = ["%autoreload 2"]
