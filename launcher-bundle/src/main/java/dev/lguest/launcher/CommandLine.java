package dev.lguest.launcher;

import dev.lguest.api.launcher.BootSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The lguest Launcher's command line:
 * {@code lguest [--verbose] [--initrd=FILE] [--block=FILE] <mem-in-mb> <vmlinux> [kernel args...]}.
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

    static final String USAGE = """
            Usage: lguest [--verbose] [--initrd=FILE] [--block=FILE] <mem-in-mb> <vmlinux> [kernel args...]
                   lguest                 boot the built-in demo guest
                   lguest --shell         start the platform with the Gogo shell
                   lguest --help          print this help
                   lguest --restore=FILE [--block=FILE]   start the guest saved in FILE

              --verbose        print the guest's memory layout and devices
              --initrd=FILE    load FILE (a gzip'ed cpio) as the initial ramdisk
              --block=FILE     give the guest a virtio disk backed by FILE
              --restore=FILE   continue a guest from its snapshot (lguest:save); --block
                               then replaces the disk file the snapshot names
              <mem-in-mb>      guest memory in megabytes
              <vmlinux>        the guest kernel, built with CONFIG_LGUEST_GUEST=y: an i386
                               ELF vmlinux or a bzImage
            """;

    sealed interface Parsed {
    }

    record Help() implements Parsed {
    }

    record Shell() implements Parsed {
    }

    /** Boot {@code spec}; a null kernel path means the built-in demo guest. */
    record Boot(int memoryMegabytes, Path kernel, Path initrd, Path block, List<String> kernelArguments,
                boolean verbose) implements Parsed {
        BootSpec toSpec(byte[] builtInKernel) {
            return new BootSpec(memoryMegabytes, kernel, kernel == null ? builtInKernel : null, initrd, block,
                    kernelArguments, verbose);
        }
    }

    record Error(String message) implements Parsed {
    }

    /** Continue the guest saved in {@code snapshot}; {@code block}, if set, replaces its disk file. */
    record Restore(Path snapshot, Path block) implements Parsed {
    }

    private CommandLine() {
    }

    static Parsed parse(List<String> args) {
        return parse(args, DEFAULT_MEMORY_MB);
    }

    /** Parses {@code args}; a boot without a memory argument gets {@code defaultMemoryMegabytes}. */
    static Parsed parse(List<String> args, int defaultMemoryMegabytes) {
        boolean verbose = false;
        Path initrd = null;
        Path block = null;
        List<String> positional = new ArrayList<>();
        boolean optionsEnded = false;
        Path restore = null;
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
            } else if (arg.startsWith("--block=") && arg.length() > "--block=".length()) {
                block = Path.of(arg.substring("--block=".length()));
            } else if (arg.startsWith("--restore=") && arg.length() > "--restore=".length()) {
                restore = Path.of(arg.substring("--restore=".length()));
            } else {
                return new Error("unknown option " + arg + " (try --help)");
            }
        }
        if (restore != null) {
            // Memory, kernel and arguments are the snapshot's; --initrd has nothing to load.
            return positional.isEmpty() && initrd == null ? new Restore(restore, block)
                    : new Error("--restore takes no memory, kernel, arguments or --initrd: they are the snapshot's");
        }
        if (positional.isEmpty()) {
            return new Boot(defaultMemoryMegabytes, null, initrd, block, List.of(), verbose);
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
                List.copyOf(positional.subList(2, positional.size())), verbose);
    }

    /** A word getopt would take as an option: it starts with '-' and is more than "-". */
    private static boolean isOption(String arg) {
        return arg.length() > 1 && arg.charAt(0) == '-';
    }
}
