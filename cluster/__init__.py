"""Ray cluster launcher / KubeRay manifests and job submission (the corpus-scale issue fills this package).

Today ``docray run --address ray://HOST:10001`` (or ``auto``) connects the Ray executor to a running cluster.
"""
