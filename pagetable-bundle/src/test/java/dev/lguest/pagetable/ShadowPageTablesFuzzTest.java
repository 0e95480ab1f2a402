/*
 * Coverage-guided fuzzing of LguestShadowPageTables on arbitrary guest page tables and calls
 * (the shared driver and what it checks: lguest-testing's ShadowPageTablesFuzz).
 *
 * ./fuzz ShadowPageTablesFuzzTest#arbitraryGuestTables 10m explores; ./mvnw verify
 * replays the inputs under
 * src/test/resources/dev/lguest/pagetable/ShadowPageTablesFuzzTestInputs/.
 */
package dev.lguest.pagetable;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.lguest.testing.mmu.ShadowPageTablesFuzz;

class ShadowPageTablesFuzzTest {
    @FuzzTest
    void arbitraryGuestTables(FuzzedDataProvider data) {
        ShadowPageTablesFuzz.run(new LguestShadowPageTables(), data);
    }
}
