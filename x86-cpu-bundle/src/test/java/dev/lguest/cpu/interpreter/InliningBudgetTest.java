package dev.lguest.cpu.interpreter;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fast-form dispatch must stay small enough for HotSpot to inline it into the
 * block loop: a hot method is inlined only if its bytecode is at most FreqInlineSize
 * (325 bytes by default). Past that the interpreter still works, but every fast
 * instruction pays a second call, about a fifth of its speed on the CPU benchmark,
 * and nothing else would say so. This reads Executor's class file, not a timing.
 */
class InliningBudgetTest {
    private static final int FREQ_INLINE_SIZE = 325;

    @Test
    void theFastFormSwitchFitsHotSpotsInliningLimit() throws Exception {
        byte[] bytes;
        try (InputStream in = Executor.class.getResourceAsStream("Executor.class")) {
            assertNotNull(in, "Executor.class on the test class path");
            bytes = in.readAllBytes();
        }
        ClassModel model = ClassFile.of().parse(bytes);
        MethodModel executeFast = model.methods().stream()
                .filter(m -> m.methodName().equalsString("executeFast"))
                .findFirst().orElseThrow(() -> new AssertionError("Executor has no executeFast"));
        CodeModel code = executeFast.code().orElseThrow();
        int length = ((CodeAttribute) code).codeLength();
        assertTrue(length <= FREQ_INLINE_SIZE, "executeFast is " + length + " bytes of bytecode; HotSpot inlines "
                + "hot methods up to " + FREQ_INLINE_SIZE + ": merge or move cases out before adding one");
    }
}
