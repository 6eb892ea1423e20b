"""Policy screening at the VQE state, checked against re-optimisation and the exact answer."""
