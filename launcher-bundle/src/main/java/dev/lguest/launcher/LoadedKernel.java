package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.memory.GuestMemory;

import java.util.List;

/**
 * A kernel in guest memory: where to start it, where its image ends, and what
 * --verbose says about how it was loaded. {@link #load} tells the two formats lguest
 * accepts apart as lguest.c's load_kernel() does: "\177ELF" is a vmlinux, anything
 * else must be a bzImage.
 */
record LoadedKernel(int entry, long end, List<String> description) {
    LoadedKernel {
        description = List.copyOf(description);
    }

    static LoadedKernel load(byte[] image, GuestMemory memory, long limit, String name) throws BootException {
        if (ElfKernel.looksLikeElf(image)) {
            return ElfKernel.load(image, memory, limit, name);
        }
        if (BzImage.looksLikeBzImage(image)) {
            return BzImage.load(image, memory, limit, name);
        }
        throw new BootException(name + " is neither an i386 ELF vmlinux nor a bzImage");
    }
}
