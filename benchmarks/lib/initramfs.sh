# Sourced by the benchmarks that boot the real Linux guest with an initramfs of their
# own: cpio "newc" archives written here with printf (no cpio, nothing unpacked; see
# exam-kit's Initramfs for the format), busybox and a few static programs in /bin.
#   initramfs OUT INIT "APPLET..." [FILE...]
#       busybox (from $busybox) with those applets as links, the device nodes the init
#       scripts use, INIT as /init and each FILE in /bin under its own name (no .elf)
#   forks_init OUT [COUNT]
#       writes an /init that times COUNT (default 1,000) runs of /bin/true from a shell
#       loop on the guest's clock, prints "LGUEST-BENCH: COUNT forks from T0 to T1" on
#       /dev/kmsg and powers off (it needs the applets "sh true cut mount poweroff")
# Needs $busybox (the i386 busybox) and $scratch (a scratch directory) set first.
pad() { head -c $(( (4 - $1 % 4) % 4 )) /dev/zero; }
inode=1
member() {   # member MODE NAME DATA-FILE-OR-EMPTY [MAJOR MINOR]
    local size=0 name_size=$(( ${#2} + 1 ))
    [ -n "$3" ] && size=$(stat -c %s "$3")
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$inode" "$1" 0 0 1 0 "$size" 0 0 "${4:-0}" "${5:-0}" "$name_size" 0
    printf '%s\0' "$2"
    pad $(( 110 + name_size ))
    if [ -n "$3" ]; then cat "$3"; pad "$size"; fi
    inode=$((inode + 1))
}
initramfs() {
    local out=$1 init=$2 applets=$3 file
    shift 3
    inode=1
    printf busybox > "$scratch/link"
    {
        for d in bin dev proc; do member $((040755)) "$d" ""; done
        member $((0100755)) bin/busybox "$busybox"
        for applet in $applets; do member $((0120777)) "bin/$applet" "$scratch/link"; done
        member $((020600)) dev/console "" 5 1
        member $((020666)) dev/null "" 1 3
        member $((020600)) dev/kmsg "" 1 11
        member $((0100755)) init "$init"
        for file in "$@"; do member $((0100755)) "bin/$(basename "$file" .elf)" "$file"; done
        inode=0; member 0 TRAILER!!! ""
    } | gzip -9 > "$out"
}
# Messages go to /dev/kmsg: lguest prints them on its console, QEMU on its serial port
# (the kernel has no serial driver, only earlyprintk).
forks_init() {
    cat > "$1" <<INIT
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
start=\$(cut -d' ' -f1 /proc/uptime)
i=0
while [ \$i -lt ${2:-1000} ]; do /bin/true; i=\$((i + 1)); done
end=\$(cut -d' ' -f1 /proc/uptime)
echo "LGUEST-BENCH: ${2:-1000} forks from \$start to \$end" > /dev/kmsg
poweroff -f
INIT
}
