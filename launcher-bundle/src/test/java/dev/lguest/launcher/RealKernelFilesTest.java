package dev.lguest.launcher;

import dev.lguest.api.launcher.BootException;
import dev.lguest.api.launcher.BootSpec;
import dev.lguest.api.memory.GuestMemory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The loaders on the real Linux 2.6.24 guest's files (../shared/linux-2.6.24, or the
 * folder LGUEST_LINUX_DIR names; skipped in one line where there is none), spoilt the
 * ways files get spoilt: a vmlinux cut inside its ELF header, its program headers, each
 * segment and after them; a bzImage with a damaged setup header (magic, version,
 * setup_sects, loadflags, code32_start) or cut short; an initrd larger than the guest's
 * memory, and one that fits but leaves no room for the kernel. Each is one line naming
 * the file and what is wrong, before any guest exists; the whole files load.
 */
class RealKernelFilesTest {
    private static final String VMLINUX = "vmlinux-2.6.24-lguest";
    private static final String BZIMAGE = "bzImage-2.6.24-lguest";
    private static final String INITRD = "initramfs-smoke.cpio.gz";
    private static final long MEMORY = 64L << 20;
    private static final long LIMIT = new GuestLayout(MEMORY).initrdBase(0) - new GuestLayout(MEMORY).pageTableBytes();

    private static byte[] vmlinux;
    private static byte[] bzImage;
    private static Path directory;

    @TempDir
    Path dir;
    private final GuestMemory memory = new GuestMemory(Arena.ofAuto().allocate(MEMORY));

    @BeforeAll
    static void theRealFiles() throws IOException {
        String chosen = System.getenv("LGUEST_LINUX_DIR");
        directory = Path.of(chosen != null && !chosen.isBlank() ? chosen : "../../shared/linux-2.6.24");
        boolean present = Files.isRegularFile(directory.resolve(VMLINUX)) && Files.isRegularFile(directory.resolve(BZIMAGE));
        Assumptions.assumeTrue(present, "no " + VMLINUX + " in " + directory.toAbsolutePath().normalize()
                + " (set LGUEST_LINUX_DIR): skipping the loaders' tests on the real kernel");
        vmlinux = Files.readAllBytes(directory.resolve(VMLINUX));
        bzImage = Files.readAllBytes(directory.resolve(BZIMAGE));
    }

    private String refusal(byte[] image) {
        return assertThrows(BootException.class, () -> LoadedKernel.load(image, memory, LIMIT, "k")).getMessage();
    }

    // ---- the vmlinux ----

    @Test
    void theWholeVmlinuxLoads() throws BootException {
        LoadedKernel k = LoadedKernel.load(vmlinux, memory, LIMIT, "k");
        assertEquals(0x100000, k.entry());
        assertEquals(0x249000, k.end());
        assertEquals(Byte.toUnsignedInt(vmlinux[0x1000]), memory.read8(0x100000));
    }

    @Test
    void aVmlinuxCutInsideItsElfHeader() {
        assertEquals("k is truncated: 30 bytes, less than an ELF header (52)", refusal(Arrays.copyOf(vmlinux, 30)));
        assertEquals("k is neither an i386 ELF vmlinux nor a bzImage", refusal(Arrays.copyOf(vmlinux, 3)));
    }

    @Test
    void aVmlinuxCutInsideItsProgramHeaders() {
        assertEquals("k is truncated: its 3 program headers end at byte 148, the file has 100 bytes",
                refusal(Arrays.copyOf(vmlinux, 100)));
    }

    @Test
    void aVmlinuxCutInsideEachSegment() {
        // Segment 0 is the text, file bytes 0x1000-0x1007d4; segment 1 the data, 0x101000-0x138085.
        assertEquals("k is truncated: segment 0 (file bytes 0x1000-0x1007d4) ends beyond the file's 4000 bytes",
                refusal(Arrays.copyOf(vmlinux, 4000)));
        assertEquals("k is truncated: segment 0 (file bytes 0x1000-0x1007d4) ends beyond the file's 1048576 bytes",
                refusal(Arrays.copyOf(vmlinux, 1 << 20)));
        assertEquals("k is truncated: segment 1 (file bytes 0x101000-0x138085) ends beyond the file's 1100000 bytes",
                refusal(Arrays.copyOf(vmlinux, 1_100_000)));
    }

    @Test
    void aVmlinuxCutAfterItsSegmentsStillLoads() throws BootException {
        // Only the section headers and symbols are gone: nothing the boot needs, as with lguest.c.
        assertEquals(0x249000, LoadedKernel.load(Arrays.copyOf(vmlinux, 0x138085), memory, LIMIT, "k").end());
    }

    // ---- the bzImage ----

    private byte[] bzImageWith(int offset, byte... bytes) {
        byte[] image = bzImage.clone();
        System.arraycopy(bytes, 0, image, offset, bytes.length);
        return image;
    }

    @Test
    void theWholeBzImageLoads() throws BootException {
        LoadedKernel k = LoadedKernel.load(bzImage, memory, LIMIT, "k");
        assertEquals(0x100000, k.entry());
        assertEquals(List.of("bzImage: boot protocol 2.07, 20 setup sectors, 627336 bytes at 0x100000, entry 0x100000"),
                k.description());
    }

    @Test
    void aBzImageWithADamagedSetupHeader() {
        assertEquals("k is neither an i386 ELF vmlinux nor a bzImage",
                refusal(bzImageWith(BzImage.HEADER_MAGIC, (byte) 'X')));
        assertEquals("k uses boot protocol 2.05; lguest needs 2.07 or later",
                refusal(bzImageWith(BzImage.PROTOCOL_VERSION, (byte) 0x05, (byte) 0x02)));
        assertEquals("k is a zImage, not a bzImage (it does not load at 1 MiB)",
                refusal(bzImageWith(BzImage.LOADFLAGS, (byte) 0)));
        assertEquals("k has a corrupt setup header: 16 setup sectors leave 629384 bytes of kernel, its syssize says "
                + "627344", refusal(bzImageWith(BzImage.SETUP_SECTS, (byte) 16)));
        assertEquals("k is truncated: its header says 627344 bytes of kernel after 255 setup sectors, the file has "
                + "507016", refusal(bzImageWith(BzImage.SETUP_SECTS, (byte) 255)));
        assertEquals("k is truncated: its header says 16355984 bytes of kernel after 20 setup sectors, the file has "
                + "627336", refusal(bzImageWith(BzImage.SYSSIZE + 2, (byte) 0x0f)));
        assertEquals("k has a corrupt setup header: code32_start 0x1000000 is outside its kernel (0x100000-0x199288)",
                refusal(bzImageWith(BzImage.CODE32_START + 2, (byte) 0, (byte) 1)));
    }

    @Test
    void aBzImageCutShort() {
        assertEquals("k ends inside its setup sectors (10000 bytes; the header says the kernel starts at byte 10752)",
                refusal(Arrays.copyOf(bzImage, 10_000)));
        assertEquals("k is truncated: its header says 627344 bytes of kernel after 20 setup sectors, the file has "
                + "289248", refusal(Arrays.copyOf(bzImage, 300_000)));
        assertEquals("k is neither an i386 ELF vmlinux nor a bzImage", refusal(Arrays.copyOf(bzImage, 0x200)));
    }

    // ---- the initrd, through the Launcher ----

    private String bootRefusal(Path kernel, Path initrd) {
        return assertThrows(BootException.class, () -> new LauncherComponent().boot(new BootSpec(64, kernel, null,
                initrd, null, List.of(), false), new ByteArrayOutputStream())).getMessage();
    }

    /** The real initramfs, followed by zeros up to {@code size} bytes (a sparse file: nothing to write). */
    private Path initrdOf(long size) throws IOException {
        Path file = dir.resolve("initrd-" + size);
        Path real = directory.resolve(INITRD);
        Assumptions.assumeTrue(Files.isRegularFile(real), "no " + real + ": skipping");
        Files.copy(real, file);
        try (RandomAccessFile grown = new RandomAccessFile(file.toFile(), "rw")) {
            grown.setLength(size);
        }
        return file;
    }

    @Test
    void anInitrdLargerThanGuestMemoryIsRefusedBeforeItIsRead() throws Exception {
        Path seventy = initrdOf(70L << 20);
        assertEquals("the initrd " + seventy + " (73400320 bytes) does not fit in 64 MB of guest memory",
                bootRefusal(directory.resolve(VMLINUX), seventy));
        // Larger than any Java array: refused by its size, not by the Launcher running out of heap.
        Path huge = initrdOf(5L << 30);
        assertEquals("the initrd " + huge + " (5368709120 bytes) does not fit in 64 MB of guest memory",
                bootRefusal(directory.resolve(VMLINUX), huge));
    }

    @Test
    void anInitrdThatFitsButLeavesNoRoomForTheKernel() throws Exception {
        Path initrd = initrdOf(62L << 20);
        Path kernel = directory.resolve(VMLINUX);
        assertEquals("the initrd " + initrd + " (65011712 bytes) does not fit in 64 MB of guest memory beside the "
                + "kernel " + kernel + ", which ends at 0x249000 (the initrd and its page tables would start at "
                + "0x1ef000)", bootRefusal(kernel, initrd));
    }

    @Test
    void theRealSetupHeaderHasTheFieldsTheseTestsDamage() {
        ByteBuffer header = ByteBuffer.wrap(bzImage).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(20, bzImage[BzImage.SETUP_SECTS]);
        assertEquals(627344, header.getInt(BzImage.SYSSIZE) * 16);
        assertEquals(0x207, header.getShort(BzImage.PROTOCOL_VERSION));
    }
}
