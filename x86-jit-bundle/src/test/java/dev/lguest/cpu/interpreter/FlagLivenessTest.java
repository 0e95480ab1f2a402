// FlagLiveness on decoded code: which instructions' flags it calls dead. A store through
// a memory operand can end the block right after it (a store into translated code), so
// an instruction that may store keeps its flags whatever follows; one that only reads
// its memory operand, and a register form, lose them to an instruction that replaces
// all six.
package dev.lguest.cpu.interpreter;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class FlagLivenessTest {
    /** Decodes the instructions, 32-bit code at 0x1000. */
    private static Instruction[] decode(int... bytes) {
        Decoder decoder = new Decoder(eip -> eip - 0x1000 < bytes.length ? bytes[eip - 0x1000] & 0xff : 0x90);
        List<Instruction> code = new ArrayList<>();
        int eip = 0x1000;
        while (eip - 0x1000 < bytes.length) {
            Instruction in = new Instruction();
            decoder.decode(in, eip, true);
            in.handler = (byte) Executor.classify(in);
            code.add(in);
            eip = in.next;
        }
        return code.toArray(new Instruction[0]);
    }

    private static String dead(int... bytes) {
        Instruction[] code = decode(bytes);
        return Arrays.toString(FlagLiveness.deadAfter(code, new boolean[code.length]));
    }

    @Test
    void storesKeepTheirFlagsWhateverFollows() {
        // CpuFuzzTest's case: add [eax], eax (writing into its own block); add al, 10.
        assertEquals("[false, false]", dead(0x01, 0x00, 0x04, 0x0a));
        // add [ebx], 7; inc dword [ebx]; shl dword [ebx], 1; neg dword [ebx]; each before xor eax, eax.
        assertEquals("[false, false]", dead(0x83, 0x03, 0x07, 0x31, 0xc0));
        assertEquals("[false, false]", dead(0xff, 0x03, 0x31, 0xc0));
        assertEquals("[false, false]", dead(0xd1, 0x23, 0x31, 0xc0));
        assertEquals("[false, false]", dead(0xf7, 0x1b, 0x31, 0xc0));
    }

    @Test
    void readsAndRegistersLoseTheirFlagsToAReplacement() {
        // add eax, [ebx]; cmp [ebx], eax; test [ebx], eax; add eax, ecx: each before xor eax, eax.
        assertEquals("[true, false]", dead(0x03, 0x03, 0x31, 0xc0));
        assertEquals("[true, false]", dead(0x39, 0x03, 0x31, 0xc0));
        assertEquals("[true, false]", dead(0x85, 0x03, 0x31, 0xc0));
        assertEquals("[true, false]", dead(0x01, 0xc8, 0x31, 0xc0));
        // inc eax passes the flags on: add eax, ecx; inc eax; xor eax, eax.
        assertEquals("[true, true, false]", dead(0x01, 0xc8, 0x40, 0x31, 0xc0));
    }
}
