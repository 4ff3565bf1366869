"""Workers: RQ jobs and the domain they drive (evidence, playbooks, actions, stores)."""
