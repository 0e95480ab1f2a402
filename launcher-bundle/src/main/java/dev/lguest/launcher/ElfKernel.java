package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * An i386 ELF kernel (a vmlinux), loaded the way lguest's Launcher does: every
 * PT_LOAD segment at its *physical* address, the rest of its memory size zeroed, and
 * the guest started at e_entry. (Linux links itself at 0xC0000000 but asks to be
 * loaded at 1 MiB; the physical addresses are the ones that count before paging.)
 *
 * A file that is not a 32-bit little-endian x86 executable, or whose segments do not
 * fit below the top of guest memory, is refused with one clear line.
 */
final class ElfKernel {
    private static final int PT_LOAD = 1;
    private static final int EM_386 = 3;
    private static final int ET_EXEC = 2;

    private ElfKernel() {
    }

    static boolean looksLikeElf(byte[] image) {
        return image.length >= 4 && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' && image[3] == 'F';
    }

    /** Loads the kernel into guest memory below {@code limit}. */
    static LoadedKernel load(byte[] image, GuestMemory memory, long limit, String name) throws BootException {
        if (!looksLikeElf(image)) {
            throw new BootException(name + " is not an ELF file");
        }
        ByteBuffer elf = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if (image.length < 52 || image[4] != 1 || image[5] != 1 || elf.getShort(18) != EM_386) {
            throw new BootException(name + " is not a 32-bit little-endian i386 ELF");
        }
        if (elf.getShort(16) != ET_EXEC) {
            throw new BootException(name + " is not an ELF executable");
        }
        int entry = elf.getInt(24);
        long phoff = Integer.toUnsignedLong(elf.getInt(28));
        int phentsize = elf.getShort(42) & 0xffff;
        int phnum = elf.getShort(44) & 0xffff;
        if (phentsize < 32 || phoff + (long) phnum * phentsize > image.length) {
            throw new BootException(name + " has a broken program header table");
        }
        long end = 0;
        int loaded = 0;
        List<String> sections = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int ph = (int) (phoff + (long) i * phentsize);
            if (elf.getInt(ph) != PT_LOAD) {
                continue;
            }
            long offset = Integer.toUnsignedLong(elf.getInt(ph + 4));
            long physical = Integer.toUnsignedLong(elf.getInt(ph + 12));
            long fileSize = Integer.toUnsignedLong(elf.getInt(ph + 16));
            long memorySize = Integer.toUnsignedLong(elf.getInt(ph + 20));
            if (offset + fileSize > image.length || fileSize > memorySize) {
                throw new BootException(name + " has a segment beyond the end of the file");
            }
            if (physical + memorySize > limit) {
                throw new BootException(String.format("%s does not fit in guest memory "
                        + "(a segment ends at %#x, memory ends at %#x)", name, physical + memorySize, limit));
            }
            memory.write(physical, image, (int) offset, (int) fileSize);
            memory.fill(physical + fileSize, memorySize - fileSize, (byte) 0);
            end = Math.max(end, physical + memorySize);
            sections.add(String.format("Section %d: size %d addr %#x", i, memorySize, physical));
            loaded++;
        }
        if (loaded == 0) {
            throw new BootException(name + " has nothing to load");
        }
        return new LoadedKernel(entry, end, sections);
    }
}
