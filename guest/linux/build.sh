#!/usr/bin/env bash
# Builds the Linux guest this project runs: an unmodified Linux 2.6.24 kernel
# configured as an lguest guest (lguest-guest.config), a static busybox for i386, and
# an initramfs of busybox with ./init that gives a shell on the console. 2.6.24 is
# from 2008; today's make and gcc need four small changes to it, made below by
# fix_linux_for_today, each with its reason. Nothing is installed: everything goes
# to the output folder, which LGUEST_LINUX_DIR can then name for the tests.
#
# Usage: guest/linux/build.sh [OUTPUT-DIR]        (default: guest/linux/build)
#
# Sources, each an archive (.tar.gz/.tar.bz2/.tar.xz) or an unpacked folder:
#   LINUX_SOURCE    kernel.org's linux-2.6.24 (default: downloaded from kernel.org)
#   BUSYBOX_SOURCE  busybox 1.35 (default: downloaded from busybox.net, or on Debian
#                   with deb-src enabled "apt-get source busybox")
#   MUSL_SOURCE     musl 1.2.3, the C library busybox is linked with (default:
#                   downloaded from musl.libc.org, or "apt-get source musl")
# Tools: gcc with -m32 (gcc-multilib; gcc 12 is what this was made with, later ones
# may need more fixes), GNU make, binutils, bzip2/xz, cpio is not needed.
#   CC_FOR_KERNEL   the compiler for the kernel (default: gcc-12 if present, else gcc)
#   BUSYBOX_CC      the compiler for busybox (default: i386-linux-musl-gcc if present,
#                   else musl built here for i386 with gcc -m32). Not today's glibc:
#                   it needs Linux 3.2 or later, and its programs die at their first
#                   instructions on 2.6.24.
#   JOBS            parallel make jobs (default: the number of CPUs)
#
# Makes in OUTPUT-DIR: vmlinux-2.6.24-lguest, bzImage-2.6.24-lguest,
# config-2.6.24-lguest, busybox-i386, initramfs.cpio.gz. About a minute for the
# kernel, one for musl and three for busybox on two cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/build}" && cd "${1:-$here/build}" && pwd)
work="$out/work"
jobs=${JOBS:-$(nproc)}
linux_url=https://cdn.kernel.org/pub/linux/kernel/v2.6/linux-2.6.24.tar.bz2
busybox_url=https://busybox.net/downloads/busybox-1.35.0.tar.bz2
musl_url=https://musl.libc.org/releases/musl-1.2.3.tar.gz
mkdir -p "$work"

say() { echo "build.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# unpacked NAME SOURCE URL: prints the folder of an unpacked source tree, unpacking
# SOURCE (an archive) or downloading URL when SOURCE is empty.
unpacked() {
    local name=$1 source=$2 url=$3 archive
    if [ -n "$source" ] && [ -d "$source" ]; then
        (cd "$source" && pwd)
        return
    fi
    if [ -n "$source" ]; then
        archive=$source
    else
        archive="$work/$(basename "$url")"
        if [ ! -f "$archive" ]; then
            say "downloading $url"
            curl -fL --retry 3 -o "$archive.part" "$url" || wget -O "$archive.part" "$url" \
                || { rm -f "$archive.part"; return 1; }
            mv "$archive.part" "$archive"
        fi
    fi
    [ -f "$archive" ] || die "no $name source: $archive"
    rm -rf "${work:?}/$name"
    mkdir -p "$work/$name"
    tar -xf "$archive" -C "$work/$name" --strip-components=1
    echo "$work/$name"
}

# ---- the kernel ----

# The changes 2.6.24 needs to build with today's tools (GNU make >= 3.82, gcc 12).
# Each is checked: a tree that does not look as expected stops the build.
fix_linux_for_today() {
    local tree=$1
    [ -f "$tree/.lguest-fixed" ] && return
    # 1. Make >= 3.82 refuses a rule with both an explicit target and a pattern
    #    ("mixed implicit and normal rules"): the top Makefile has two, "config
    #    %config:" and "/ %/:". Each becomes two rules with the same prerequisites
    #    and recipe (the recipe is the tab-indented lines that follow).
    awk '
        function flush() { if (held != "") { print t1 rest; printf "%s", body; print ""; print t2 rest; printf "%s", body; held = "" } }
        held != "" && /^\t/ { body = body $0 "\n"; next }
        held != "" { flush() }
        /^config %config:/ || /^\/ %\/:/ {
            held = $0; split($0, parts, ":"); split(parts[1], targets, " ")
            t1 = targets[1] ":"; t2 = targets[2] ":"; rest = substr($0, index($0, ":") + 1); body = ""; next
        }
        { print }
        END { flush() }
    ' "$tree/Makefile" > "$tree/Makefile.fixed"
    grep -q '^%config:' "$tree/Makefile.fixed" && grep -q '^%/:' "$tree/Makefile.fixed" \
        || die "the top Makefile does not look like 2.6.24's (no \"config %config:\" rule)"
    mv "$tree/Makefile.fixed" "$tree/Makefile"

    # 2. The kernel is compiled with -mregparm=3 throughout, so "fastcall"
    #    (regparm(3) on single functions) changes nothing but where gcc 12 accepts
    #    the attribute: it rejects it where 2.6.24 places it after the return type
    #    of some declarations. It becomes empty, the calling convention unchanged.
    sed -i -e 's/^#define FASTCALL(x)\tx __attribute__((regparm(3)))/#define FASTCALL(x)\tx/' \
           -e 's/^#define fastcall\t__attribute__((regparm(3)))/#define fastcall/' \
        "$tree/include/asm-x86/linkage_32.h"
    grep -q '^#define fastcall$' "$tree/include/asm-x86/linkage_32.h" || die "linkage_32.h: fastcall not found"

    # 3. The vsyscall DSO (the vDSO) is linked by calling $(CC) with "-m elf_i386",
    #    an option old gcc handed to ld and gcc 12 refuses; the compiler already
    #    has -m32. Today's gcc also links position independent by default, which
    #    that linker script does not expect: -no-pie.
    sed -i 's/cmd_syscall = $(CC) -m elf_i386 -nostdlib/cmd_syscall = $(CC) -no-pie -nostdlib/' \
        "$tree/arch/x86/kernel/Makefile_32"
    grep -q 'cmd_syscall = $(CC) -no-pie' "$tree/arch/x86/kernel/Makefile_32" || die "Makefile_32: the vDSO link not found"

    # 4. The mutex slow paths are static functions called only from inline
    #    assembly (the fast paths in asm/mutex.h name them as strings), so gcc 12
    #    sees no caller and drops them: the link fails. __used keeps them (and the
    #    trylock slow path, which a fast path may also name only in assembly).
    sed -i -e 's/^static \(.*\)fastcall noinline/static __used \1fastcall noinline/' \
           -e 's/^static inline int __mutex_trylock_slowpath/static __used inline int __mutex_trylock_slowpath/' \
        "$tree/kernel/mutex.c"
    [ "$(grep -c '^static __used' "$tree/kernel/mutex.c")" -eq 7 ] || die "kernel/mutex.c: the slow paths not found"
    touch "$tree/.lguest-fixed"
}

build_linux() {
    local tree cc hostcc flags
    tree=$(unpacked linux "${LINUX_SOURCE:-}" "$linux_url") || die "no Linux source: set LINUX_SOURCE to linux-2.6.24.tar.bz2 or its folder"
    [ -f "$tree/arch/x86/lguest/boot.c" ] || die "$tree is not a Linux 2.6.24 tree (no arch/x86/lguest/boot.c)"
    fix_linux_for_today "$tree"
    cc=${CC_FOR_KERNEL:-$(command -v gcc-12 || command -v gcc)}
    hostcc=$cc
    case "$("$cc" -dumpversion)" in 12*) ;; *) say "warning: $cc is gcc $("$cc" -dumpversion), not 12: it may need more fixes" ;; esac
    # What 2008's kernel assumed of its compiler, said to today's: 32-bit, no PIE,
    # no stack protector or CET, C89 inline semantics, no optimizations the kernel
    # code is not written for (strict overflow, null checks, sibling calls its
    # stack traces and asm rely on), no SSE/MMX in kernel code, no unwind tables.
    flags="-m32 -fno-pie -fno-stack-protector -fgnu89-inline -std=gnu89 -fno-delete-null-pointer-checks"
    flags="$flags -fno-strict-overflow -fno-optimize-sibling-calls -mno-sse -mno-sse2 -mno-mmx -mno-3dnow"
    flags="$flags -mno-avx -fcf-protection=none -fno-asynchronous-unwind-tables"
    say "configuring Linux in $tree"
    make -C "$tree" ARCH=i386 CC="$cc $flags" HOSTCC="$hostcc" KCONFIG_ALLCONFIG="$here/lguest-guest.config" \
        allnoconfig >/dev/null
    grep -q '^CONFIG_LGUEST_GUEST=y' "$tree/.config" || die "the configuration has no CONFIG_LGUEST_GUEST"
    say "building Linux (make -j$jobs vmlinux bzImage)"
    make -C "$tree" ARCH=i386 CC="$cc $flags" HOSTCC="$hostcc" -j"$jobs" vmlinux bzImage
    cp "$tree/vmlinux" "$out/vmlinux-2.6.24-lguest"
    cp "$tree/arch/x86/boot/bzImage" "$out/bzImage-2.6.24-lguest"
    cp "$tree/.config" "$out/config-2.6.24-lguest"
    LINUX_TREE=$tree
}

# ---- busybox ----

# source_or_apt NAME SOURCE URL PACKAGE: an unpacked tree, from SOURCE, URL, or Debian's
# source package when the URL cannot be reached.
source_or_apt() {
    local name=$1 source=$2 url=$3 package=$4 tree
    if [ -n "$source" ]; then
        unpacked "$name" "$source" "$url"
        return
    fi
    if tree=$(unpacked "$name" "" "$url" 2>/dev/null); then
        echo "$tree"
        return
    fi
    command -v apt-get >/dev/null || die "no $name source: download $url and name it in ${name^^}_SOURCE"
    say "$url unreachable; trying apt-get source $package"
    rm -rf "${work:?}/apt-$name" && mkdir -p "$work/apt-$name"
    (cd "$work/apt-$name" && apt-get source -q "$package" >/dev/null 2>&1) \
        || die "no $name source: download $url and name it in ${name^^}_SOURCE"
    find "$work/apt-$name" -maxdepth 1 -type d -name "$package-*" | head -1
}

# musl for i386, static only, installed under the work folder (the host's gcc with -m32,
# ar and ranlib: the target name alone would ask for i386-linux-musl-ar); its musl-gcc wrapper
# compiles against musl's headers, plus the Linux UAPI headers busybox includes
# (linux/, asm/, asm-generic/ from the build machine, copied so that no other
# header of the host's C library can leak in). musl's gcc specs replace gcc's link
# line, -m elf_i386 with it: the wrapper is called with -Wl,-m,elf_i386 as well.
build_musl() {
    local tree prefix="$work/musl-i386" uapi="$work/uapi-i386" asm
    if [ ! -x "$prefix/bin/musl-gcc" ]; then
        tree=$(source_or_apt musl "${MUSL_SOURCE:-}" "$musl_url" musl)
        say "building musl for i386 in $prefix"
        (cd "$tree" && ./configure --prefix="$prefix" --target=i386-linux-musl --disable-shared CC=gcc CFLAGS=-m32 \
            AR=ar RANLIB=ranlib >/dev/null && make -j"$jobs" >/dev/null && make install >/dev/null) \
            || die "musl did not build"
    fi
    # -L: on Debian /usr/include/asm is a symbolic link into the multiarch folder.
    asm=/usr/include/asm
    [ -d "$asm" ] || asm=$(find /usr/include -maxdepth 2 -type d -path '*linux-gnu/asm' | head -1)
    [ -d /usr/include/linux ] && [ -n "$asm" ] || die "no Linux headers in /usr/include (Debian: linux-libc-dev)"
    rm -rf "$uapi" && mkdir -p "$uapi/asm"
    cp -rL /usr/include/linux /usr/include/asm-generic "$uapi/"
    cp -rL "$asm/." "$uapi/asm/"
    [ -d /usr/include/mtd ] && cp -rL /usr/include/mtd "$uapi/"
    echo "$prefix/bin/musl-gcc -m32 -Wl,-m,elf_i386 -idirafter $uapi"
}

build_busybox() {
    local tree cc
    tree=$(source_or_apt busybox "${BUSYBOX_SOURCE:-}" "$busybox_url" busybox)
    [ -f "$tree/Makefile" ] && grep -q '^PATCHLEVEL = 35' "$tree/Makefile" \
        || say "warning: $tree is not busybox 1.35; carrying on"
    if [ -n "${BUSYBOX_CC:-}" ]; then
        cc=$BUSYBOX_CC
    elif command -v i386-linux-musl-gcc >/dev/null; then
        cc=i386-linux-musl-gcc
    else
        cc=$(build_musl)
    fi
    say "building busybox with $cc (static)"
    make -C "$tree" defconfig >/dev/null
    # A static program runs in any initramfs; "tc" does not build against today's
    # kernel headers and no guest here needs it.
    sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' -e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' "$tree/.config"
    { yes '' || true; } | make -C "$tree" oldconfig >/dev/null   # (yes ends by SIGPIPE)
    make -C "$tree" CC="$cc" HOSTCC=gcc -j"$jobs" busybox busybox.links
    cp "$tree/busybox" "$out/busybox-i386"
    BUSYBOX_TREE=$tree
}

# ---- the initramfs ----

# gen_init_cpio (built with the kernel) reads a list of members and makes device
# nodes without needing root. busybox.links names every applet's path.
build_initramfs() {
    local list="$work/initramfs.list" dir link
    {
        for dir in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /tmp /mnt /root; do
            case $dir in /tmp) echo "dir $dir 1777 0 0" ;; /root) echo "dir $dir 700 0 0" ;; *) echo "dir $dir 755 0 0" ;; esac
        done
        echo "nod /dev/console 600 0 0 c 5 1"
        echo "nod /dev/null 666 0 0 c 1 3"
        echo "nod /dev/zero 666 0 0 c 1 5"
        echo "nod /dev/tty 666 0 0 c 5 0"
        echo "nod /dev/hvc0 600 0 0 c 229 0"
        echo "file /bin/busybox $out/busybox-i386 755 0 0"
        echo "file /init $here/init 755 0 0"
        while read -r link; do
            [ "$link" = /bin/busybox ] && continue
            echo "slink $link /bin/busybox 777 0 0"
        done < "$BUSYBOX_TREE/busybox.links"
    } > "$list"
    "$LINUX_TREE/usr/gen_init_cpio" "$list" | gzip -9 > "$out/initramfs.cpio.gz"
}

build_linux
build_busybox
build_initramfs
say "done: $out"
say "boot it: ./lguest 64 $out/vmlinux-2.6.24-lguest --initrd=$out/initramfs.cpio.gz"
say "for the tests: export LGUEST_LINUX_DIR=$out"
