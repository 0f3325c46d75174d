"""The chaos simulation's machinery (bench/chaos.py is the entry point): one world per process
(a fake clock shared by Django and the sandbox clouds, the clouds served in-process to the real
adapters), randomized scenarios, the driver that steps the real loops, and the verdicts."""
