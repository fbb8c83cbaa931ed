"""Upload → validate → build → deploy → health-check → register, and agent lifecycle.

models.py    Upload and its steps (the state machine's record)
sources.py   getting a package onto disk: archives, git repositories
pipeline.py  DeployPipeline: runs one upload's steps, idempotently, under a lease
service.py   UploadService (create, list, watch) and AgentLifecycle (stop/start/…)
sweep.py     start-up: recover uploads left mid-flight, agents left running, agents_dir
"""
