// Page faults of accesses that straddle two pages, on the interpreter and on the
// translator (compiling every block at its first run), which must agree on the whole
// state and RAM besides. A #PF names in CR2 the linear address of the first byte
// that faults: the operand's own address when its first page is the missing one, the
// first byte of the second page when that one is missing or read-only (a supervisor
// store under CR0.WP), never the operand's last byte. A store that faults writes
// nothing, not even the bytes on the page that is there; a read-only second page
// lets a read through. Every operand size that can straddle: 2 and 4 bytes (MOV,
// ADD into memory, FIST, FST m32), 8 (FST and FLD m64) and 10 (FSTP and FLD m80),
// each at several offsets across the boundary.
package dev.lguest.cpu.interpreter;

import static dev.lguest.cpu.interpreter.TestMachine.DATA;
import static dev.lguest.cpu.interpreter.TestMachine.PAGE_TABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.lguest.api.cpu.CpuExit;
import dev.lguest.api.cpu.X86;
import org.junit.jupiter.api.Test;

class PageCrossingFaultTest {
    /** DATA's page is there and the next is not present. */
    static final int SECOND_MISSING = DATA + 0x1000;
    /** Not present, and the page after it is there. */
    static final int FIRST_MISSING = DATA + 0x2000;
    /** Present but read-only; the page before it is writable. */
    static final int READ_ONLY = DATA + 0x5000;

    private static TranslatorPair pair() {
        return new TranslatorPair(m -> {
            m.write32(PAGE_TABLE + (SECOND_MISSING >>> 12) * 4, 0);
            m.write32(PAGE_TABLE + (FIRST_MISSING >>> 12) * 4, 0);
            m.write32(PAGE_TABLE + (READ_ONLY >>> 12) * 4, READ_ONLY | 5); // present, user, not writable
        });
    }

    /** One access: its opcode bytes before the [disp32] operand, its size, whether it stores. */
    private record Access(String name, int[] opcode, int size, boolean write) {
    }

    private static final Access[] ACCESSES = {
        new Access("mov [m16], ax", new int[] {0x66, 0x89, 0x05}, 2, true),
        new Access("mov ax, [m16]", new int[] {0x66, 0x8b, 0x05}, 2, false),
        new Access("mov [m32], eax", new int[] {0x89, 0x05}, 4, true),
        new Access("mov eax, [m32]", new int[] {0x8b, 0x05}, 4, false),
        new Access("add [m32], eax", new int[] {0x01, 0x05}, 4, true),
        new Access("fist word [m16]", new int[] {0xdf, 0x15}, 2, true),
        new Access("fild word [m16]", new int[] {0xdf, 0x05}, 2, false),
        new Access("fst dword [m32]", new int[] {0xd9, 0x15}, 4, true),
        new Access("fld dword [m32]", new int[] {0xd9, 0x05}, 4, false),
        new Access("fst qword [m64]", new int[] {0xdd, 0x15}, 8, true),
        new Access("fld qword [m64]", new int[] {0xdd, 0x05}, 8, false),
        new Access("fstp tword [m80]", new int[] {0xdb, 0x3d}, 10, true),
        new Access("fld tword [m80]", new int[] {0xdb, 0x2d}, 10, false),
    };

    /** fld1; the access at {@code address}; int 0x1f (the normal end). */
    private static int[] program(Access access, int address) {
        return TestMachine.concat(new int[] {0xd9, 0xe8}, access.opcode, TestMachine.imm32(address),
                new int[] {0xcd, TestMachine.HOST_EXIT});
    }

    /** Runs one access at {@code address} on both CPUs, with RAM round it full of a pattern; the exit. */
    private static CpuExit run(TranslatorPair pair, Access access, int address) {
        byte[] data = new byte[0x6000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (0x5a ^ i);
        }
        String differs = pair.run(program(access, address), s -> {
            s.gpr[X86.EAX] = 0x11223344;
        }, data);
        assertNull(differs, access.name + " at " + Integer.toHexString(address));
        return pair.lastExit;
    }

    private static void assertPageFault(TranslatorPair pair, CpuExit exit, Access access, int address, int cr2,
            int errorCode) {
        String what = access.name + " at " + Integer.toHexString(address);
        assertEquals(X86.PF_VECTOR, exit.vector(), what);
        assertEquals(errorCode, exit.errorCode(), what);
        assertEquals(cr2, pair.lastState.cr2, what);
        assertEquals(TestMachine.CODE + 2, pair.lastState.eip, what + ": the access is the faulting instruction");
        // Nothing was stored, on the page that is there either.
        for (int at = address; at < address + access.size; at++) {
            assertEquals((byte) (0x5a ^ (at - DATA)), pair.translated.ram.get(LinearMemory.BYTE, at), what);
        }
    }

    @Test
    void aMissingSecondPageIsNamedByItsFirstByte() {
        try (TranslatorPair pair = pair()) {
            for (Access access : ACCESSES) {
                for (int before = 1; before < access.size; before++) {
                    int address = SECOND_MISSING - before;
                    CpuExit exit = run(pair, access, address);
                    assertPageFault(pair, exit, access, address, SECOND_MISSING, access.write ? X86.PF_WRITE : 0);
                }
            }
        }
    }

    @Test
    void aMissingFirstPageIsNamedByTheOperandsAddress() {
        try (TranslatorPair pair = pair()) {
            for (Access access : ACCESSES) {
                for (int before = 1; before < access.size; before++) {
                    int address = FIRST_MISSING + 0x1000 - before;
                    CpuExit exit = run(pair, access, address);
                    assertPageFault(pair, exit, access, address, address, access.write ? X86.PF_WRITE : 0);
                }
            }
        }
    }

    @Test
    void aReadOnlySecondPageStopsAStoreAtItsFirstByteAndLetsAReadThrough() {
        try (TranslatorPair pair = pair()) {
            for (Access access : ACCESSES) {
                for (int before = 1; before < access.size; before++) {
                    int address = READ_ONLY - before;
                    CpuExit exit = run(pair, access, address);
                    if (access.write) {
                        assertPageFault(pair, exit, access, address, READ_ONLY, X86.PF_WRITE | X86.PF_PROT);
                    } else {
                        assertEquals(TestMachine.HOST_EXIT, exit.vector(), access.name);
                    }
                }
            }
        }
    }
}
