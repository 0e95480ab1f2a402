package dev.lguest.api.launcher;

import java.nio.file.Path;
import java.util.List;

/**
 * What the Launcher is asked to boot: the arguments of
 * {@code lguest [--verbose] [--initrd=FILE] [--block=FILE] [--net=KIND:ARG] <mem-in-mb> <vmlinux> [args...]}.
 *
 * @param memoryMegabytes guest RAM
 * @param kernel          the kernel file (an i386 ELF vmlinux or a bzImage)
 * @param kernelImage     or its bytes, when it comes from elsewhere (the built-in demo guest);
 *                        exactly one of kernel and kernelImage is set
 * @param initrd          an initrd file, or null
 * @param block           a disk image for virtio block, or null
 * @param kernelArguments the kernel command line, word by word
 * @param verbose         print the memory layout and devices
 * @param networks        the guest's network links, each "KIND:ARGUMENT" naming a network
 *                        backend and what it is given ("switch:lan0", "tap:10.0.0.1",
 *                        "tap:bridge:br0"); empty for a guest without a network
 * @param inflateInitrd   a gzip initrd reaches the guest inflated by the host (--inflate-initrd):
 *                        the guest's kernel unpacks the plain archive the same, without
 *                        spending its CPU on the inflating; off, the guest gets the file as it is
 */
public record BootSpec(int memoryMegabytes, Path kernel, byte[] kernelImage, Path initrd, Path block,
                       List<String> kernelArguments, boolean verbose, List<String> networks,
                       boolean inflateInitrd) {
    public BootSpec {
        kernelArguments = List.copyOf(kernelArguments);
        networks = List.copyOf(networks);
        if ((kernel == null) == (kernelImage == null)) {
            throw new IllegalArgumentException("exactly one of kernel and kernelImage");
        }
    }

    /** The initrd given to the guest as it is. */
    public BootSpec(int memoryMegabytes, Path kernel, byte[] kernelImage, Path initrd, Path block,
                    List<String> kernelArguments, boolean verbose, List<String> networks) {
        this(memoryMegabytes, kernel, kernelImage, initrd, block, kernelArguments, verbose, networks, false);
    }

    /** A guest without a network. */
    public BootSpec(int memoryMegabytes, Path kernel, byte[] kernelImage, Path initrd, Path block,
                    List<String> kernelArguments, boolean verbose) {
        this(memoryMegabytes, kernel, kernelImage, initrd, block, kernelArguments, verbose, List.of());
    }

    /** The kernel command line as the guest will see it. */
    public String commandLine() {
        return String.join(" ", kernelArguments);
    }
}
