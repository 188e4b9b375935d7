"""Parameter sweeps: many parameter sets through the same path as `playbook run`."""
