"""The library side of the Snakemake workflow: plan, configs, stages, worker pool.

* :mod:`.snakemake_setup`  what the Snakefile and rules import: the plan from ``--config``, job logging
* :mod:`.hydra_configs`    composing Hydra configs and sweeps; :mod:`.config_schema` validates them
* :mod:`.plan`             which artifacts a sweep needs, and where each lives
* :mod:`.stages`           one function per workflow stage, paths in, paths out
* :mod:`.worker_pool`      warm worker processes for the cheap stages
* :mod:`.demo_set`         the demo songs as the plan sees them

The top of the layering: it may import every other part. Nothing else imports it.
(It is not called ``workflow``: that is Snakemake's own name inside a Snakefile, and the
repository's rules folder.)
"""
