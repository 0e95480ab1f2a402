# Sourced by the benchmarks that time a static i386 program on this machine as a
# reference. Many x86-64 hosts cannot run i386 programs at all (a kernel built without
# IA32 emulation answers "Exec format error"), so the reference is chosen by trying:
#   i386_native     "true" when the program runs natively here
#   i386_qemu       the qemu-user command for i386 (qemu-i386, else Debian's
#                   qemu-i386-static), empty when neither is installed
# I386_NATIVE=no makes i386_probe answer as such a machine would (to try that path).
# Usage: . benchmarks/lib/i386-reference.sh; i386_probe PROGRAM [ARGS...]
i386_probe() {
  i386_native=false
  if [ "${I386_NATIVE:-}" = no ]; then
    echo "  native: left out (I386_NATIVE=no)" >&2
  elif "$@" > /dev/null 2>&1; then
    i386_native=true
  fi
  i386_qemu=
  for candidate in qemu-i386 qemu-i386-static; do
    if command -v "$candidate" > /dev/null; then i386_qemu=$candidate; break; fi
  done
  if ! $i386_native && [ "${I386_NATIVE:-}" != no ]; then
    echo "  native: this machine does not run i386 programs ($("$@" 2>&1 > /dev/null | head -1 || true))" >&2
  fi
  if ! $i386_native && [ -z "$i386_qemu" ]; then
    echo "  and no qemu-i386 either (apt-get install qemu-user-static): no reference" >&2
  fi
}
