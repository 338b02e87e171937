"""docray on a Ray cluster.

* ``docray submit`` — :mod:`docray.cluster.submit` (command line, entrypoint), :mod:`docray.cluster.jobs` (Ray's
  Job Submission SDK: submit, wait), :mod:`docray.cluster.runtime_env` (how docray and a local pipeline file
  travel with the job).
* ``launcher.yaml`` (Ray cluster launcher, AWS), ``rayjob.yaml`` (KubeRay RayJob) and ``Dockerfile`` (the image
  the RayJob runs) in this folder.
"""
