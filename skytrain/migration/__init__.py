"""`skytrain migrate`: move one service from Marathon to Kubernetes with a traffic canary
through the SDB, fall back by itself when the Kubernetes side is worse, finish, and show
where every service of the fleet stands (docs/migration.md).

The pure half lives here (no I/O: phases, the canary plan, the comparison of the two
sides, the file edit, the board); `skytrain.migration.live` reads and changes the
schedulers, the mesh's Consul and the SDB, through the backends and the lifecycle.

The migration is one way by design, as the mesh is: from the scheduler the SDB prefers
while it is healthy (Marathon) to the one behind its catch-all (Kubernetes).
"""

from __future__ import annotations

FROM = "marathon"  # the scheduler a service leaves (the SDB prefers it while it is healthy)
TO = "kubernetes"  # the scheduler it moves to (the SDB's catch-all)
# marks recorded on the Marathon app with the scale to 0 (skytrain.lifecycle.scale's marks)
PREVIOUS_INSTANCES = "previous-instances"
CUT_OVER_AT = "cut-over-at"
