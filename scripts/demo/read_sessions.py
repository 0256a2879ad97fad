"""The demo's Python service: reads the sessions PHP wrote, checks them.
    python read_sessions.py CONFIG"""
import sys

import mcring

mc = mcring.Client(sys.argv[1])
keys = [f"session:{i}" for i in range(1000)]
found = mc.get_multi(keys)
right = sum(
    1
    for i, k in enumerate(keys)
    if found.get(k) == {"user": i, "name": f"user{i}", "cart": [i % 7, i % 11], "admin": i % 100 == 0}
)
print(f"Python read {len(found)} of 1000 sessions, {right} exactly as PHP wrote them")
sys.exit(0 if right == 1000 else 1)
