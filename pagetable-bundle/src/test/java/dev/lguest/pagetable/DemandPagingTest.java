/*
 * Demand paging, as every shadow page table implementation must do it (the shared
 * contract in lguest-testing), run against LguestShadowPageTables.
 */
package dev.lguest.pagetable;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.testing.mmu.DemandPagingContract;

class DemandPagingTest extends DemandPagingContract {
    @Override
    protected ShadowPageTables newTables() {
        return new LguestShadowPageTables();
    }
}
