"""imagectl: build, test and version the analysis base images named in images.yml."""
