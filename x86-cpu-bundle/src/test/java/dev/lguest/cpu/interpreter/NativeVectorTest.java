// The differential test: replays every vector that src/test/native recorded on a real
// CPU and checks that this interpreter ends each one in the same state. The Java machine
// rebuilds the native harness's address space page for page (code page full of INT3 at
// the same linear address, the data buffer, its read-only page and the inaccessible
// pages around it, Linux's GDT and IDT as a 32-bit process meets them, the harness's
// LDT), runs the instruction at CPL 3 and lets it fall onto the INT3, exactly as
// natively. GPRs, EIP, the six selectors, the exception (vector, error code, CR2), the
// data buffer and the flags the Intel manual defines for the instruction are compared.
// The vectors are committed data, so this test does not depend on the CPU of the machine
// that runs it.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.CpuState;
import dev.lguest.api.cpu.ExitReason;
import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.cpu.SegmentRegister;
import dev.lguest.api.cpu.X86;
import dev.lguest.api.memory.PhysicalMemory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class NativeVectorTest {
    // The harness's layout (harness.h).
    static final int CODE_PAGE = 0x2000_0000, CODE_OFFSET = 0x800, DATA = 0x1000_0000, DATA_PAGES = 3;
    static final int PRISTINE_SEED = 0x2545f491;
    static final int SETTABLE = 0xcd5;
    // IF and IOPL: compared where a vector says so (POPF and IRET, which may not change them at ring 3).
    static final int SYSTEM_FLAGS = 0x3200;
    // The file's selector order (CS SS DS ES FS GS) as this CPU's segment register numbers.
    static final int[] FILE_ORDER = {Segments.CS, Segments.SS, Segments.DS, Segments.ES, Segments.FS, Segments.GS};

    // Where the pages live in this machine's RAM, and where the system tables are mapped.
    static final int PAGE_DIRECTORY = 0x0000, DATA_TABLE = 0x1000, CODE_TABLE = 0x2000, SYSTEM_TABLE = 0x3000,
            GDT = 0x4000, IDT = 0x5000, LDT = 0x6000, TSS = 0x7000, CODE_FRAME = 0x10000, DATA_FRAME = 0x20000;
    static final int SYSTEM_LINEAR = 0xf000_0000;
    static final MemorySegment FILLED_CODE_PAGE = MemorySegment.ofArray(new byte[4096]).fill((byte) 0xcc);

    /** One decoded vector: the case and what the real CPU did with it. */
    record Vector(int form, byte[] code, int[] regsIn, int flagsIn, int defined, int[] segsIn, int unchecked,
            Pieces patches, int vector, int eip, int error, int cr2, int[] regsOut, int eflagsOut, int[] segsOut,
            Pieces changes) {
    }

    /** Byte runs at offsets into the data buffer: a case's patches, or what it changed. */
    record Pieces(int[] offsets, byte[][] bytes) {
        void applyTo(byte[] buffer) {
            for (int i = 0; i < offsets.length; i++) {
                System.arraycopy(bytes[i], 0, buffer, offsets[i], bytes[i].length);
            }
        }
    }

    static byte[] pristine() {
        byte[] buffer = new byte[DATA_PAGES * 4096];
        int state = PRISTINE_SEED;
        for (int i = 0; i < buffer.length; i += 4) {
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            buffer[i] = (byte) state;
            buffer[i + 1] = (byte) (state >>> 8);
            buffer[i + 2] = (byte) (state >>> 16);
            buffer[i + 3] = (byte) (state >>> 24);
        }
        return buffer;
    }

    /** A vector file: the form names, the selectors the harness ran with, the vectors. */
    static final class VectorFile extends VectorBytes {
        final List<String> forms = new ArrayList<>();
        final int[] selectors = new int[6];
        /** The harness's LDT, low and high word of each descriptor. */
        int[] ldt;
        final List<Vector> vectors = new ArrayList<>();

        VectorFile(byte[] bytes) {
            super(bytes);
            assertEquals("X86V", new String(bytes, 0, 4, StandardCharsets.US_ASCII));
            at = 4;
            assertEquals(2, u16());
            for (int i = 0; i < 6; i++) {
                selectors[i] = u16();
            }
            assertEquals(CODE_PAGE + CODE_OFFSET, u32());
            assertEquals(DATA, u32());
            int formCount = u16();
            for (int i = 0; i < formCount; i++) {
                int length = u8();
                forms.add(new String(bytes, at, length, StandardCharsets.US_ASCII));
                at += length;
            }
            ldt = new int[u16() * 2];
            for (int i = 0; i < ldt.length; i++) {
                ldt[i] = u32();
            }
            int[] previous = new int[8];
            while (at < bytes.length) {
                int form = u16();
                byte[] code = take(u8());
                int[] regsIn = previous.clone();
                int mask = u8();
                for (int r = 0; r < 8; r++) {
                    if ((mask >>> r & 1) != 0) {
                        regsIn[r] = u32();
                    }
                }
                previous = regsIn;
                int flagsIn = u16();
                int defined = u16();
                int[] segsIn = selectors.clone();
                mask = u8();
                for (int r = 0; r < 6; r++) {
                    if ((mask >>> r & 1) != 0) {
                        segsIn[r] = u16();
                    }
                }
                int unchecked = u8();
                Pieces patches = pieces(u8());
                int vector = u8();
                int eip = u32();
                int error = X86.hasErrorCode(vector) ? u32() : 0;
                int cr2 = vector == X86.PF_VECTOR ? u32() : 0;
                int[] regsOut = regsIn.clone();
                mask = u8();
                for (int r = 0; r < 8; r++) {
                    if ((mask >>> r & 1) != 0) {
                        regsOut[r] = u32();
                    }
                }
                int eflagsOut = u32();
                int[] segsOut = segsIn.clone();
                mask = u8();
                for (int r = 0; r < 6; r++) {
                    if ((mask >>> r & 1) != 0) {
                        segsOut[r] = u16();
                    }
                }
                Pieces changes = pieces(u16());
                vectors.add(new Vector(form, code, regsIn, flagsIn, defined, segsIn, unchecked, patches, vector, eip,
                        error, cr2, regsOut, eflagsOut, segsOut, changes));
            }
        }

        private Pieces pieces(int count) {
            int[] offsets = new int[count];
            byte[][] bytes = new byte[count][];
            for (int i = 0; i < count; i++) {
                offsets[i] = u16();
                bytes[i] = take(u8());
            }
            return new Pieces(offsets, bytes);
        }
    }

    /** The harness's address space around an interpreter at CPL 3. */
    static final class Machine implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        final MemorySegment ram = arena.allocate(1 << 20, 4096);
        final PhysicalMemory bus = new PhysicalMemory(ram);
        final InterpreterCpu cpu = CpuUnderTest.create(bus);
        final MemorySegment code = ram.asSlice(CODE_FRAME, 4096);
        final MemorySegment data = ram.asSlice(DATA_FRAME, DATA_PAGES * 4096);

        /** The host's machine without the harness's LDT (the x87 harness installs none). */
        Machine(int[] selectors, byte[] pristine) {
            this(selectors, new int[0], pristine);
        }

        Machine(int[] selectors, int[] ldt, byte[] pristine) {
            // The page tables: code and data pages for the user, system tables for the CPU.
            put32(PAGE_DIRECTORY + (DATA >>> 22) * 4, DATA_TABLE | 7);
            put32(PAGE_DIRECTORY + (CODE_PAGE >>> 22) * 4, CODE_TABLE | 7);
            put32(PAGE_DIRECTORY + (SYSTEM_LINEAR >>> 22) * 4, SYSTEM_TABLE | 3);
            for (int page = 0; page < DATA_PAGES; page++) {
                boolean writable = page < DATA_PAGES - 1;
                put32(DATA_TABLE + page * 4, (DATA_FRAME + page * 4096) | (writable ? 7 : 5));
            }
            put32(CODE_TABLE, CODE_FRAME | 7);
            for (int page = 0; page < 16; page++) {
                put32(SYSTEM_TABLE + page * 4, (page << 12) | 3);
            }
            // The GDT of an x86-64 Linux host as a 32-bit process sees it through LAR/LSL.
            descriptor(1, 0xc09b); // kernel 32-bit code
            descriptor(2, 0xa09b); // kernel 64-bit code
            descriptor(3, 0xc093); // kernel data
            descriptor(4, 0xc0fb); // user 32-bit code (0x23)
            descriptor(5, 0xc0f3); // user data (0x2b)
            descriptor(6, 0xa0fb); // user 64-bit code (0x33)
            put32(GDT + 8 * 8, 0x0000_0067); // the TSS, busy, ring 0
            put32(GDT + 8 * 8 + 4, 0x0000_8b00);
            // The LDT descriptor (0x50): the harness's LDT, copied into kernel memory.
            int ldtBase = SYSTEM_LINEAR + LDT, ldtLimit = ldt.length * 4 - 1;
            put32(GDT + 10 * 8, (ldtBase << 16) | ldtLimit);
            put32(GDT + 10 * 8 + 4, (ldtBase & 0xff00_0000) | ((ldtBase >>> 16) & 0xff) | 0x8200);
            for (int i = 0; i < ldt.length; i++) {
                put32(LDT + i * 4, ldt[i]);
            }
            descriptor(12, 0xd0f3); // the TLS segment glibc uses (0x63); 13 and 14 are empty
            // CPUNODE (0x7b): read-only expand-down data whose limit is the CPU's number;
            // only loads of it are recorded, never its limit.
            descriptor(15, 0x40f5);
            // Linux's TSS: no I/O bitmap for a process without ioperm (its offset lies past
            // the limit), so every port is refused at IOPL 0.
            put32(TSS + 0x64, 0x68 << 16);
            code.fill((byte) 0xcc);
            data.copyFrom(MemorySegment.ofArray(pristine));
            // Gates: INT3, INTO and the ia32 system call may be raised from ring 3, as
            // Linux allows (no vector makes INT 0x80: it would enter the host's kernel).
            for (int v = 0; v < 256; v++) {
                int dpl = v == X86.BP || v == X86.OF_VECTOR || v == 0x80 ? 3 : 0;
                put32(IDT + v * 8, 0x0008_0000);
                put32(IDT + v * 8 + 4, 0x8e00 | (dpl << 13));
            }
            CpuState s = new CpuState();
            s.gdtBase = SYSTEM_LINEAR + GDT;
            s.gdtLimit = 16 * 8 - 1;
            s.idtBase = SYSTEM_LINEAR + IDT;
            s.idtLimit = 256 * 8 - 1;
            s.cr3 = PAGE_DIRECTORY;
            s.ldtr = ldt.length == 0 ? SegmentCache.NULL : new SegmentCache(0x50, ldtBase, ldtLimit, 0x82);
            s.tr = new SegmentCache(0x40, SYSTEM_LINEAR + TSS, 0x67, 0x8b);
            s.cr0 = X86.CR0_PE | X86.CR0_ET | X86.CR0_PG | X86.CR0_WP;
            SegmentRegister[] order = {SegmentRegister.CS, SegmentRegister.SS, SegmentRegister.DS,
                    SegmentRegister.ES, SegmentRegister.FS, SegmentRegister.GS};
            for (int i = 0; i < 6; i++) {
                s.setSegment(order[i], segment(selectors[i]));
            }
            assertEquals(3, s.cpl());
            for (int v = 0; v < 32; v++) {
                s.setHostVector(v, true);
            }
            cpu.loadState(s);
        }

        private void descriptor(int index, int attributes) {
            int high = ((attributes & 0xff) << 8) | 0xf0000 | ((attributes & 0xf000) << 8);
            put32(GDT + index * 8, 0x0000ffff);
            put32(GDT + index * 8 + 4, high);
        }

        private SegmentCache segment(int selector) {
            if ((selector & 0xfffc) == 0) {
                return new SegmentCache(selector, 0, 0, 0);
            }
            int address = ((selector & 4) != 0 ? LDT : GDT) + (selector & 0xfff8);
            return SegmentCache.fromDescriptor(selector, ram.get(LinearMemory.INT_LE, address),
                    ram.get(LinearMemory.INT_LE, address + 4));
        }

        private void put32(int address, int value) {
            ram.set(LinearMemory.INT_LE, address, value);
        }

        /** Runs one vector; returns null if the interpreter agrees, else what differed. */
        /** Runs one vector; {@code expected} is scratch space the size of the writable pages. */
        String run(Vector v, byte[] pristine, byte[] expected) {
            int writable = expected.length;
            System.arraycopy(pristine, 0, expected, 0, writable);
            v.patches().applyTo(expected);
            MemorySegment.copy(MemorySegment.ofArray(v.code()), 0, code, CODE_OFFSET, v.code().length);
            MemorySegment.copy(MemorySegment.ofArray(expected), 0, data, 0, writable);
            v.changes().applyTo(expected);
            System.arraycopy(v.regsIn(), 0, cpu.gpr, 0, 8);
            SegmentCache cs = segment(v.segsIn()[0]);
            if (!cs.equals(cpu.segments.cache[Segments.CS])) {
                cpu.setCodeSegment(cs);
            }
            for (int i = 1; i < 6; i++) {
                cpu.segments.set(FILE_ORDER[i], segment(v.segsIn()[i]));
            }
            cpu.setEflags(0x202 | v.flagsIn());
            cpu.eip = CODE_PAGE + CODE_OFFSET;
            CpuExit exit;
            try {
                exit = cpu.run(4);
            } finally {
                code.asSlice(CODE_OFFSET, v.code().length).fill((byte) 0xcc);
            }
            // A wrong instruction may have written anywhere the user may: start the next
            // vector from an untouched code page whatever happened.
            if (MemorySegment.mismatch(code, 0, 4096, FILLED_CODE_PAGE, 0, 4096) >= 0) {
                code.fill((byte) 0xcc);
            }
            StringBuilder diff = new StringBuilder();
            if (cpu.internalErrors != 0) {
                cpu.internalErrors = 0;
                diff.append(" interpreter-bug");
            }
            if (exit.reason() != ExitReason.VECTOR || exit.vector() != v.vector()) {
                diff.append(String.format(" exit=%s/%d(%x) cr2=%08x want vector %d(%x) cr2=%08x", exit.reason(),
                        exit.vector(), exit.errorCode(), cpu.cr2, v.vector(), v.error(), v.cr2()));
            } else {
                if (v.vector() == X86.PF_VECTOR) {
                    if ((exit.errorCode() & 7) != (v.error() & 7) || cpu.cr2 != v.cr2()) {
                        diff.append(String.format(" #PF(%x) cr2=%08x want #PF(%x) cr2=%08x", exit.errorCode(),
                                cpu.cr2, v.error() & 7, v.cr2()));
                    }
                } else if (X86.hasErrorCode(v.vector()) && exit.errorCode() != v.error()) {
                    diff.append(String.format(" error=%x want %x", exit.errorCode(), v.error()));
                }
            }
            if (cpu.eip != v.eip()) {
                diff.append(String.format(" eip=%08x want %08x", cpu.eip, v.eip()));
            }
            for (int r = 0; r < 8; r++) {
                if (cpu.gpr[r] != v.regsOut()[r] && (v.unchecked() >>> r & 1) == 0) {
                    diff.append(String.format(" r%d=%08x want %08x", r, cpu.gpr[r], v.regsOut()[r]));
                }
            }
            for (int i = 0; i < 6; i++) {
                int selector = cpu.segments.cache[FILE_ORDER[i]].selector() & 0xffff;
                if (selector != v.segsOut()[i]) {
                    diff.append(String.format(" sreg%d=%04x want %04x", i, selector, v.segsOut()[i]));
                }
            }
            int compared = v.defined() & (SETTABLE | SYSTEM_FLAGS);
            if (((cpu.eflags() ^ v.eflagsOut()) & compared) != 0) {
                diff.append(String.format(" flags=%03x want %03x (defined %03x)", cpu.eflags() & compared,
                        v.eflagsOut() & compared, compared));
            }
            long at = MemorySegment.mismatch(data, 0, writable, MemorySegment.ofArray(expected), 0, writable);
            if (at >= 0) {
                diff.append(String.format(" data+%x=%02x want %02x", at, data.get(LinearMemory.BYTE, at),
                        expected[(int) at]));
            }
            if (MemorySegment.mismatch(data, writable, data.byteSize(), MemorySegment.ofArray(pristine), writable,
                    pristine.length) >= 0) {
                diff.append(" read-only page written");
                data.asSlice(writable).copyFrom(MemorySegment.ofArray(pristine).asSlice(writable));
            }
            return diff.isEmpty() ? null : diff.toString();
        }

        @Override
        public void close() {
            bus.close();
            arena.close();
        }
    }

    static byte[] resource(String name) {
        try (InputStream in = NativeVectorTest.class.getResourceAsStream("/vectors/" + name)) {
            assertTrue(in != null, "missing vector resource " + name);
            return (name.endsWith(".gz") ? new GZIPInputStream(in) : in).readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What one file's replay found: vectors and mismatches per form, and a few examples. */
    record Result(Map<String, int[]> perForm, List<String> examples) {
    }

    static Result replay(String file, byte[] pristine) {
        VectorFile vectors = new VectorFile(resource(file));
        Map<String, int[]> perForm = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        byte[] expected = new byte[(DATA_PAGES - 1) * 4096];
        try (Machine m = new Machine(vectors.selectors, vectors.ldt, pristine)) {
            for (Vector v : vectors.vectors) {
                String name = vectors.forms.get(v.form());
                int[] counts = perForm.computeIfAbsent(name, k -> new int[2]);
                counts[0]++;
                String diff = m.run(v, pristine, expected);
                if (diff != null) {
                    counts[1]++;
                    if (counts[1] <= 3) {
                        examples.add(String.format("%s [%s] in=%s fl=%03x ->%s", name,
                                HexFormat.ofDelimiter(" ").formatHex(v.code()), regs(v.regsIn()), v.flagsIn(), diff));
                    }
                }
            }
        }
        return new Result(perForm, examples);
    }

    private static String regs(int[] r) {
        StringBuilder b = new StringBuilder();
        for (int value : r) {
            b.append(String.format("%08x,", value));
        }
        return b.substring(0, b.length() - 1);
    }

    @Test
    void everyVectorMatchesTheRealCpu() throws Exception {
        byte[] pristine = pristine();
        List<String> files = new String(resource("index.txt"), StandardCharsets.US_ASCII).lines()
                .filter(l -> !l.isBlank()).toList();
        Map<String, int[]> perForm = new TreeMap<>();
        List<String> examples = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Result>> results = new ArrayList<>();
            for (String file : files) {
                results.add(pool.submit(() -> replay(file, pristine)));
            }
            for (Future<Result> f : results) {
                Result r = f.get();
                r.perForm().forEach((form, c) -> {
                    int[] total = perForm.computeIfAbsent(form, k -> new int[2]);
                    total[0] += c[0];
                    total[1] += c[1];
                });
                examples.addAll(r.examples());
            }
        } finally {
            pool.shutdown();
        }
        long total = 0, mismatches = 0;
        StringBuilder report = new StringBuilder("native vectors per form (run / mismatched):\n");
        for (Map.Entry<String, int[]> e : perForm.entrySet()) {
            total += e.getValue()[0];
            mismatches += e.getValue()[1];
            report.append(String.format("  %-28s %6d%s%n", e.getKey(), e.getValue()[0],
                    e.getValue()[1] == 0 ? "" : " / " + e.getValue()[1] + " MISMATCHED"));
        }
        report.append(String.format("%d vectors, %d forms, %d mismatches%n", total, perForm.size(), mismatches));
        System.out.print(report);
        examples.stream().limit(300).forEach(System.out::println);
        assertTrue(total >= 200_000, "expected at least 200,000 vectors, found " + total);
        assertEquals(0, mismatches, "vectors that differ from the real CPU (see the report above)");
    }
}
