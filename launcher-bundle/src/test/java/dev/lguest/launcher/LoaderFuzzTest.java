/*
 * Coverage-guided fuzzing of what the Launcher loads: the kernel (an ELF vmlinux or a
 * bzImage, built from fuzzed header fields so the fuzzer gets past the magic numbers,
 * or raw bytes), an initrd file of any size, any amount of memory and any command line.
 * The Launcher boots them against a stand-in /dev/lguest that looks at the guest's
 * memory when LHREQ_INITIALIZE arrives and then refuses it, so the guest never runs.
 *
 * What must hold: either one BootException before any guest exists, or a guest whose
 * INITIALIZE names exactly its memory (base 0, pfnlimit its RAM plus the device pages),
 * the kernel's entry, and initial page tables inside its RAM, below the initrd, that map
 * every RAM page to itself and nothing else; the initrd lies at the top of RAM, whole,
 * as boot_params says; and never another exception.
 *
 * ./fuzz LoaderFuzzTest#kernelAndInitrd 10m explores; ./mvnw verify replays the inputs
 * under src/test/resources/dev/lguest/launcher/LoaderFuzzTestInputs/.
 */
package dev.lguest.launcher;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.api.device.Errno;
import dev.lguest.api.device.LguestDevice;
import dev.lguest.api.device.LguestFile;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.launcher.GuestSession;
import dev.lguest.api.memory.GuestMemory;
import dev.lguest.api.memory.PhysicalMemory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoaderFuzzTest {
    private static final Path INITRD = tempFile();

    private static Path tempFile() {
        try {
            Path dir = Files.createTempDirectory("loader-fuzz");
            dir.toFile().deleteOnExit();
            Path file = dir.resolve("initrd");
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A /dev/lguest that checks the memory the Launcher prepared, then refuses to start it. */
    private static final class InspectingDevice implements LguestDevice {
        final List<String> problems = new ArrayList<>();
        int megabytes;
        int entry;
        byte[] initrd;

        @Override
        public LguestFile open(MemorySegment launcherMemory) {
            return new LguestFile() {
                @Override
                public long write(ByteBuffer request) {
                    ByteBuffer in = request.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                    if (in.getInt() == 0) {
                        inspect(launcherMemory, in.getInt(), in.getInt(), in.getInt(), in.getInt());
                    }
                    return -Errno.EIO;
                }

                @Override
                public long read(ByteBuffer into) {
                    return -Errno.ENOENT;
                }

                @Override
                public Guest guest() {
                    return null;
                }

                @Override
                public void close() {
                }
            };
        }

        @Override
        public LguestFile adopt(Guest guest) {
            throw new UnsupportedOperationException();
        }

        private void problem(boolean ok, String what) {
            if (!ok) {
                problems.add(what);
            }
        }

        private void inspect(MemorySegment launcherMemory, int base, int pfnLimit, int pgdir, int start) {
            GuestMemory memory = new GuestMemory(launcherMemory);
            long ram = (long) megabytes << 20;
            long pages = ram / PhysicalMemory.PAGE_SIZE;
            problem(base == 0, "base " + base);
            problem(pfnLimit == pages + GuestLayout.DEVICE_PAGES, "pfnlimit " + pfnLimit);
            problem((long) pfnLimit * PhysicalMemory.PAGE_SIZE == launcherMemory.byteSize(), "memory size");
            problem(start == entry, "start " + Integer.toHexString(start) + " is not the kernel's entry");
            long initrdBase = initrd == null ? ram : ram - ((initrd.length + 4095L) & -4096L);
            problem(pgdir >= 0 && (pgdir & 0xfff) == 0 && pgdir + 4096L <= initrdBase, "pgdir " + Integer.toHexString(pgdir));
            if (!problems.isEmpty()) {
                return;
            }
            long mapped = 0;
            for (int slot = 0; slot < 1024; slot++) {
                int directoryEntry = memory.read32(pgdir + slot * 4L);
                if ((directoryEntry & 1) == 0) {
                    continue;
                }
                long table = Integer.toUnsignedLong(directoryEntry & 0xfffff000);
                if (table < pgdir || table + 4096 > initrdBase) {
                    problem(false, "page table " + Long.toHexString(table) + " outside the tables' place");
                    return;
                }
                for (int index = 0; index < 1024; index++) {
                    int pte = memory.read32(table + index * 4L);
                    if ((pte & 1) == 0) {
                        continue;
                    }
                    long virtual = (long) slot << 22 | (long) index << 12;
                    long frame = Integer.toUnsignedLong(pte & 0xfffff000);
                    problem(frame == virtual && frame < ram, "pte maps " + Long.toHexString(virtual) + " to "
                            + Long.toHexString(frame));
                    mapped++;
                }
            }
            problem(mapped == pages, mapped + " pages mapped of " + pages);
            if (initrd != null && initrd.length > 0) {
                problem(memory.read32(GuestLayout.RAMDISK_IMAGE) == (int) initrdBase, "boot_params' ramdisk_image");
                problem(memory.read32(GuestLayout.RAMDISK_SIZE) == initrd.length, "boot_params' ramdisk_size");
                problem(java.util.Arrays.equals(memory.read(initrdBase, initrd.length), initrd), "the initrd's bytes");
            }
            problem(memory.read8(GuestLayout.COMMAND_LINE + GuestLayout.COMMAND_LINE_MAX - 1) == 0,
                    "the command line is not terminated");
        }
    }

    @FuzzTest
    void kernelAndInitrd(FuzzedDataProvider data) throws Exception {
        InspectingDevice device = new InspectingDevice();
        device.megabytes = data.consumeInt(1, 5);
        boolean withInitrd = data.consumeBoolean();
        if (withInitrd) {
            int size = data.consumeBoolean() ? data.consumeInt(0, 8192)
                    : data.consumeInt(0, (device.megabytes << 20) + 8192);
            byte[] bytes = new byte[size];
            byte[] pattern = data.consumeBytes(16);
            for (int i = 0; i < size && pattern.length > 0; i++) {
                bytes[i] = pattern[i % pattern.length];
            }
            Files.write(INITRD, bytes);
            device.initrd = bytes;
        }
        List<String> arguments = new ArrayList<>();
        int argumentCount = data.consumeInt(0, 3);
        for (int i = 0; i < argumentCount; i++) {
            arguments.add(data.consumeString(data.consumeInt(0, 300)));
        }
        byte[] kernel = switch (data.consumeInt(0, 2)) {
            case 0 -> elf(data);
            case 1 -> bzImage(data);
            default -> data.consumeBytes(data.consumeInt(0, 4096));
        };

        // Where a loaded kernel starts: e_entry of an ELF, code32_start of a bzImage.
        ByteBuffer header = ByteBuffer.wrap(kernel).order(ByteOrder.LITTLE_ENDIAN);
        if (ElfKernel.looksLikeElf(kernel) && kernel.length >= 28) {
            device.entry = header.getInt(24);
        } else if (kernel.length >= BzImage.CODE32_START + 4) {
            device.entry = header.getInt(BzImage.CODE32_START);
        }
        LauncherComponent launcher = new LauncherComponent();
        launcher.bindDevice(device);
        BootSpec spec = new BootSpec(device.megabytes, null, kernel, withInitrd ? INITRD : null, null, arguments, false);
        GuestSession session;
        try {
            session = launcher.boot(spec, new ByteArrayOutputStream());
        } catch (BootException refused) {
            assertTrue(refused.getMessage() != null && !refused.getMessage().contains("Exception"),
                    refused.getMessage());
            return;
        }
        var outcome = session.await(Duration.ofSeconds(60));
        assertTrue(outcome.isPresent(), "the guest did not end");
        assertEquals("LHREQ_INITIALIZE failed: EIO", outcome.get().reason());
        assertEquals(List.of(), device.problems);
    }

    /** An ELF header and program headers from fuzzed fields, then the rest of the input as the file's tail. */
    private static byte[] elf(FuzzedDataProvider data) {
        int phnum = data.consumeInt(0, 4);
        int tail = data.consumeInt(0, 4096);
        ByteBuffer b = ByteBuffer.allocate(52 + 32 * phnum + tail).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1});
        b.position(16);
        b.putShort((short) (data.consumeBoolean() ? 2 : data.consumeInt(0, 4)));
        b.putShort((short) (data.consumeBoolean() ? 3 : data.consumeInt(0, 70)));
        b.putInt(1).putInt(data.consumeInt()).putInt(data.consumeBoolean() ? 52 : data.consumeInt()).putInt(0).putInt(0);
        b.putShort((short) 52).putShort((short) (data.consumeBoolean() ? 32 : data.consumeInt(0, 64)));
        b.putShort((short) phnum).putShort((short) 0).putShort((short) 0).putShort((short) 0);
        for (int i = 0; i < phnum; i++) {
            boolean sane = data.consumeBoolean();
            int fileSize = sane ? data.consumeInt(0, tail) : data.consumeInt();
            b.putInt(data.consumeBoolean() ? 1 : data.consumeInt(0, 7));
            b.putInt(sane ? 52 + 32 * phnum : data.consumeInt());
            b.putInt(0xc0100000);
            b.putInt(sane ? 0x100000 + data.consumeInt(0, 0x100000) : data.consumeInt());
            b.putInt(fileSize);
            b.putInt(sane ? fileSize + data.consumeInt(0, 0x10000) : data.consumeInt());
            b.putInt(7).putInt(0x1000);
        }
        b.put(data.consumeBytes(tail));
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** A setup header from fuzzed fields, the setup sectors, then a payload. */
    private static byte[] bzImage(FuzzedDataProvider data) {
        int setupSectors = data.consumeInt(0, 8);
        int payload = data.consumeInt(0, 8192);
        byte[] image = new byte[(Math.max(setupSectors, 1) + 1) * 512 + payload];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        image[BzImage.SETUP_SECTS] = (byte) (data.consumeBoolean() ? setupSectors : data.consumeInt(0, 255));
        b.put(BzImage.HEADER_MAGIC, "HdrS".getBytes());
        b.putShort(BzImage.PROTOCOL_VERSION, (short) (data.consumeBoolean() ? 0x207 : data.consumeInt(0, 0x20a)));
        image[BzImage.LOADFLAGS] = (byte) data.consumeInt(0, 255);
        b.putInt(BzImage.CODE32_START, data.consumeBoolean() ? 0x100000 : data.consumeInt());
        // syssize as the kernel's build tool writes it (taken from no input, so the kept inputs keep their meaning).
        b.putInt(BzImage.SYSSIZE, (payload + BzImage.SYSSIZE_UNIT - 1) / BzImage.SYSSIZE_UNIT);
        byte[] rest = data.consumeBytes(payload);
        System.arraycopy(rest, 0, image, image.length - payload, rest.length);
        return java.util.Arrays.copyOf(image, data.consumeBoolean() ? image.length : data.consumeInt(0, image.length));
    }
}
