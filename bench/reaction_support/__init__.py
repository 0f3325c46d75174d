"""The reaction benchmark's machinery (bench/reaction.py is the entry point): the world the bench
controls (sandbox clouds whose instances answer on loopback, and those instances' services), the
setup of deployments and policies, the production processes it starts, and the timelines it
reads back per incident."""
