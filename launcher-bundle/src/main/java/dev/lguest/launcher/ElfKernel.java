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
 * fit below the top of guest memory, is refused with one clear line. So is a file that
 * ends early (a copy cut short, a download that stopped): the line says where it ends
 * and what should have been there (the header, the program headers, which segment),
 * where lguest.c said "Malformed elf header" or "Reading program headers". What follows
 * the last segment (the section headers, the symbols) is not needed to boot, so a file
 * cut there still loads, as it does with lguest.c.
 */
final class ElfKernel {
    private static final int PT_LOAD = 1;
    private static final int EM_386 = 3;
    private static final int ET_EXEC = 2;
    private static final int ELF_HEADER_BYTES = 52;
    private static final int PROGRAM_HEADER_BYTES = 32;

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
        if (image.length < ELF_HEADER_BYTES) {
            throw new BootException(String.format("%s is truncated: %d bytes, less than an ELF header (%d)",
                    name, image.length, ELF_HEADER_BYTES));
        }
        if (image[4] != 1 || image[5] != 1 || elf.getShort(18) != EM_386) {
            throw new BootException(name + " is not a 32-bit little-endian i386 ELF");
        }
        if (elf.getShort(16) != ET_EXEC) {
            throw new BootException(name + " is not an ELF executable");
        }
        int entry = elf.getInt(24);
        long phoff = Integer.toUnsignedLong(elf.getInt(28));
        int phentsize = elf.getShort(42) & 0xffff;
        int phnum = elf.getShort(44) & 0xffff;
        if (phentsize < PROGRAM_HEADER_BYTES) {
            throw new BootException(String.format("%s has a broken program header table (entries of %d bytes, not %d)",
                    name, phentsize, PROGRAM_HEADER_BYTES));
        }
        long headersEnd = phoff + (long) phnum * phentsize;
        if (headersEnd > image.length) {
            throw new BootException(String.format("%s is truncated: its %d program headers end at byte %d, "
                    + "the file has %d bytes", name, phnum, headersEnd, image.length));
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
            if (offset + fileSize > image.length) {
                throw new BootException(String.format("%s is truncated: segment %d (file bytes %#x-%#x) ends beyond "
                        + "the file's %d bytes", name, i, offset, offset + fileSize, image.length));
            }
            if (fileSize > memorySize) {
                throw new BootException(String.format("%s has a broken segment %d (%d bytes in the file, %d in memory)",
                        name, i, fileSize, memorySize));
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
