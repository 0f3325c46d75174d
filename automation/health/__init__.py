"""Health checking (issue 5): what to probe for each deployment (targets), the probes themselves
(probes), and the long-running loop that keeps a steady 30 s cadence (checker). The state machine
that turns results into flips and events is automation.services.health."""
