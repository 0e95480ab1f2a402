/*
 * Coverage-guided fuzzing of SimpleShadowPageTables on arbitrary guest page tables and calls
 * (the shared driver and what it checks: lguest-testing's ShadowPageTablesFuzz).
 *
 * ./fuzz SimpleShadowPageTablesFuzzTest#arbitraryGuestTables 10m explores; ./mvnw verify
 * replays the inputs under
 * src/test/resources/dev/lguest/pagetable/simple/SimpleShadowPageTablesFuzzTestInputs/.
 */
package dev.lguest.pagetable.simple;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.testing.mmu.ShadowPageTablesFuzz;

class SimpleShadowPageTablesFuzzTest {
    @FuzzTest
    void arbitraryGuestTables(FuzzedDataProvider data) {
        ShadowPageTablesFuzz.run(new SimpleShadowPageTables(), data);
    }
}
