/*
 * Live migration's dirty log (the shared contract in lguest-testing), run against
 * LguestShadowPageTables.
 */
package dev.lguest.pagetable;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.testing.mmu.DirtyLogContract;

class DirtyLogTest extends DirtyLogContract {
    @Override
    protected ShadowPageTables newTables() {
        return new LguestShadowPageTables();
    }
}
