"""``make test-overload``: the system past saturation, under slow clients, a login storm, a
lock-out attempt and a dead inventory; writes docs/overload.md."""
