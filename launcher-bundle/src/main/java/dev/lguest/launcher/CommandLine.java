package dev.lguest.launcher;

import dev.lguest.api.launcher.BootSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The lguest Launcher's command line:
 * {@code lguest [--verbose] [--initrd=FILE] [--inflate-initrd] [--block=FILE] [--net=KIND:ARG] [--gdb=PORT] [--gdb-wait] <mem-in-mb> <vmlinux> [kernel args...]}.
 *
 * The network: {@code --net=switch:NAME} joins the guest to the in-process switch NAME;
 * lguest's own {@code --tunnet=IP} and {@code --tunnet=bridge:NAME} are the same as
 * {@code --net=tap:IP} and {@code --net=tap:bridge:NAME}. Which kinds work depends on the
 * build's network backends; the Launcher says so at boot.
 *
 * As with the reference Launcher (GNU getopt_long), options may stand anywhere, also
 * after the kernel: `lguest 64 vmlinux --initrd=i.gz root=/dev/vda` works. The first
 * word that is not an option is the memory size, the next the kernel, and the other
 * words are the guest's kernel command line; after "--" every word is one of those,
 * even one that looks like an option. With no words at all the built-in demo guest
 * boots, with the configured default memory (GuestDefaults, PID dev.lguest.launcher).
 * Parsing never throws: bad input is a {@link Parsed.Error} with one line.
 */
final class CommandLine {
    /** Guest memory when neither the command line nor the configuration says. */
    static final int DEFAULT_MEMORY_MB = 32;
    /** gdb's usual port (QEMU's -s), for --gdb-wait alone. */
    static final int DEFAULT_GDB_PORT = 1234;

    static final String USAGE = """
            Usage: lguest [--verbose] [--initrd=FILE] [--inflate-initrd] [--block=FILE] [--net=KIND:ARG]
                          [--gdb=PORT] [--gdb-wait] <mem-in-mb> <vmlinux> [kernel args...]
                   lguest                 boot the built-in demo guest
                   lguest --shell         start the platform with the Gogo shell
                   lguest --help          print this help
                   lguest --restore=FILE [--block=FILE] [--net=KIND:ARG]   start the guest saved in FILE
                   lguest --incoming=PORT [--block=FILE]  wait on 127.0.0.1:PORT for a guest migrating here

              --verbose        print the guest's memory layout, devices and notifications
                               (on standard error, between the guest's console lines)
              --initrd=FILE    load FILE (a gzip'ed cpio) as the initial ramdisk
              --inflate-initrd inflate a gzip'ed initrd here and give the guest the archive
                               inside (its kernel unpacks it the same, without spending
                               its emulated CPU on the inflating: a faster boot)
              --block=FILE     give the guest a virtio disk backed by FILE (one we may
                               only read is a disk whose writes fail)
              --net=switch:NAME
                               give the guest a virtio network card on the in-process switch NAME
                               (the guests of this process on NAME are one Ethernet segment)
              --tunnet=IP      ... on a new host TAP interface with address IP (as root)
              --tunnet=bridge:NAME
                               ... on a new host TAP interface added to the bridge NAME
              --gdb=PORT       let gdb debug the guest: `gdb vmlinux`, then `target remote :PORT`
                               (listens on 127.0.0.1 only)
              --gdb-wait       stop the guest before its first instruction until gdb
                               connects and continues (port 1234 without --gdb)
              --restore=FILE   continue a guest from its snapshot (lguest:save); --block
                               then replaces the disk file the snapshot names, and a saved
                               network card joins the network --net or --tunnet names
              --incoming=PORT  receive a running guest (lguest:migrate ID 127.0.0.1:PORT in the
                               source's shell) and run it here; port 0 picks a free one, printed
              --monitor=PORT   take commands for the guest on 127.0.0.1:PORT, one a line
                               (migrate HOST:PORT, save FILE [stop], info); 0 picks a port
              <mem-in-mb>      guest memory in megabytes
              <vmlinux>        the guest kernel, built with CONFIG_LGUEST_GUEST=y: an i386
                               ELF vmlinux or a bzImage

            The guest's console is standard input and output; three ^C within about a
            second end the guest (exit status 2). Power-off exits 0, a guest's death 1.
            """;

    sealed interface Parsed {
    }

    record Help() implements Parsed {
    }

    record Shell() implements Parsed {
    }

    /** Boot {@code spec}; a null kernel path means the built-in demo guest. */
    record Boot(int memoryMegabytes, Path kernel, Path initrd, Path block, List<String> kernelArguments,
                boolean verbose, List<String> networks, int gdbPort, boolean gdbWait, boolean inflateInitrd)
            implements Parsed {
        /** gdbPort is -1 without a gdb stub. */
        Boot(int memoryMegabytes, Path kernel, Path initrd, Path block, List<String> kernelArguments,
             boolean verbose, List<String> networks) {
            this(memoryMegabytes, kernel, initrd, block, kernelArguments, verbose, networks, -1, false, false);
        }

        Boot(int memoryMegabytes, Path kernel, Path initrd, Path block, List<String> kernelArguments,
             boolean verbose) {
            this(memoryMegabytes, kernel, initrd, block, kernelArguments, verbose, List.of());
        }

        BootSpec toSpec(byte[] builtInKernel) {
            return new BootSpec(memoryMegabytes, kernel, kernel == null ? builtInKernel : null, initrd, block,
                    kernelArguments, verbose, networks, inflateInitrd);
        }
    }

    record Error(String message) implements Parsed {
    }

    /**
     * Continue the guest saved in {@code snapshot}; {@code block}, if set, replaces its
     * disk file; its network card joins {@code networks} (a link is not saved).
     */
    record Restore(Path snapshot, Path block, List<String> networks) implements Parsed {
        Restore {
            networks = List.copyOf(networks);
        }
    }

    /** Wait on 127.0.0.1:{@code port} (0: any free one) for a migrating guest; {@code block} replaces its disk file. */
    record Incoming(int port, Path block) implements Parsed {
    }

    /** The words without --monitor=PORT, and its port (-1: none), or why it is wrong. */
    record Monitor(int port, List<String> rest, String error) {
    }

    /** Takes --monitor=PORT (any command may have it) out of {@code args}, before "--". */
    static Monitor takeMonitor(List<String> args) {
        List<String> rest = new ArrayList<>();
        int port = -1;
        boolean optionsEnded = false;
        for (String arg : args) {
            if (!optionsEnded && arg.startsWith("--monitor=")) {
                String text = arg.substring("--monitor=".length());
                port = text.equals("0") ? 0 : port(text);
                if (port < 0) {
                    return new Monitor(-1, args, "--monitor needs a port number from 0 to 65535, not '" + text + "'");
                }
            } else {
                optionsEnded |= arg.equals("--");
                rest.add(arg);
            }
        }
        return new Monitor(port, rest, null);
    }

    private CommandLine() {
    }

    static Parsed parse(List<String> args) {
        return parse(args, DEFAULT_MEMORY_MB);
    }

    /** Parses {@code args}; a boot without a memory argument gets {@code defaultMemoryMegabytes}. */
    static Parsed parse(List<String> args, int defaultMemoryMegabytes) {
        boolean verbose = false;
        int gdbPort = -1;
        boolean gdbWait = false;
        Path initrd = null;
        boolean inflateInitrd = false;
        Path block = null;
        List<String> networks = new ArrayList<>();
        List<String> positional = new ArrayList<>();
        boolean optionsEnded = false;
        Path restore = null;
        int incoming = -1;
        for (String arg : args) {
            if (optionsEnded || !isOption(arg)) {
                positional.add(arg);
            } else if (arg.equals("--")) {
                optionsEnded = true;
            } else if (arg.equals("--help") || arg.equals("-h")) {
                return new Help();
            } else if (arg.equals("--shell")) {
                return new Shell();
            } else if (arg.equals("--verbose") || arg.equals("-v")) {
                verbose = true;
            } else if (arg.startsWith("--initrd=") && arg.length() > "--initrd=".length()) {
                initrd = Path.of(arg.substring("--initrd=".length()));
            } else if (arg.equals("--inflate-initrd")) {
                inflateInitrd = true;
            } else if (arg.startsWith("--block=") && arg.length() > "--block=".length()) {
                block = Path.of(arg.substring("--block=".length()));
            } else if (arg.startsWith("--net=") && arg.length() > "--net=".length()) {
                networks.add(arg.substring("--net=".length()));
            } else if (arg.startsWith("--tunnet=") && arg.length() > "--tunnet=".length()) {
                networks.add("tap:" + arg.substring("--tunnet=".length()));
            } else if (arg.startsWith("--gdb=")) {
                gdbPort = port(arg.substring("--gdb=".length()));
                if (gdbPort < 0) {
                    return new Error("--gdb needs a port number from 1 to 65535, not '"
                            + arg.substring("--gdb=".length()) + "'");
                }
            } else if (arg.equals("--gdb-wait")) {
                gdbWait = true;
            } else if (arg.startsWith("--restore=") && arg.length() > "--restore=".length()) {
                restore = Path.of(arg.substring("--restore=".length()));
            } else if (arg.startsWith("--incoming=")) {
                String port = arg.substring("--incoming=".length());
                incoming = port.equals("0") ? 0 : port(port);
                if (incoming < 0) {
                    return new Error("--incoming needs a port number from 0 to 65535, not '" + port + "'");
                }
            } else {
                return new Error("unknown option " + arg + " (try --help)");
            }
        }
        if (gdbWait && gdbPort < 0) {
            gdbPort = DEFAULT_GDB_PORT;
        }
        if (incoming >= 0 && !networks.isEmpty()) {
            // A migrating network card would need its link re-made here, as a restore does;
            // the migration stream does not carry a network to join yet.
            return new Error("--incoming takes no network: a guest with a network card cannot migrate yet");
        }
        if (incoming >= 0) {
            // Everything about the guest comes with it.
            return positional.isEmpty() && initrd == null && restore == null ? new Incoming(incoming, block)
                    : new Error("--incoming takes no memory, kernel, arguments, --initrd or --restore: they come with the guest");
        }
        if (restore != null) {
            // Memory, kernel and arguments are the snapshot's; --initrd has nothing to load.
            return positional.isEmpty() && initrd == null ? new Restore(restore, block, networks)
                    : new Error("--restore takes no memory, kernel, arguments or --initrd: they are the snapshot's");
        }
        if (positional.isEmpty()) {
            return new Boot(defaultMemoryMegabytes, null, initrd, block, List.of(), verbose, networks, gdbPort,
                    gdbWait, inflateInitrd);
        }
        if (positional.size() < 2) {
            return new Error("missing the kernel: lguest <mem-in-mb> <vmlinux> (try --help)");
        }
        int memory;
        try {
            memory = Integer.parseInt(positional.get(0));
        } catch (NumberFormatException e) {
            return new Error("memory must be a number of megabytes, not '" + positional.get(0) + "'");
        }
        if (memory < LauncherComponent.MIN_MEMORY_MB || memory > LauncherComponent.MAX_MEMORY_MB) {
            return new Error(String.format("guest memory must be between %d and %d MB, not %d",
                    LauncherComponent.MIN_MEMORY_MB, LauncherComponent.MAX_MEMORY_MB, memory));
        }
        return new Boot(memory, Path.of(positional.get(1)), initrd, block,
                List.copyOf(positional.subList(2, positional.size())), verbose, List.copyOf(networks), gdbPort,
                gdbWait, inflateInitrd);
    }

    /** A TCP port number, or -1. */
    private static int port(String text) {
        try {
            int port = Integer.parseInt(text);
            return port >= 1 && port <= 65535 ? port : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** A word getopt would take as an option: it starts with '-' and is more than "-". */
    private static boolean isOption(String arg) {
        return arg.length() > 1 && arg.charAt(0) == '-';
    }
}
