"""A boot with thousands of phases: more output than a pipe holds."""

from orchestrator import Boot

boot = Boot("many-phases")
for number in range(3000):
    boot.add(lambda: None, name=f"phase_{number:04d}", description="x" * 40)
