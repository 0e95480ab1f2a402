/*
 * Live migration's dirty log (the shared contract in lguest-testing), run against
 * SimpleShadowPageTables.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.testing.mmu.DirtyLogContract;

class DirtyLogTest extends DirtyLogContract {
    @Override
    protected ShadowPageTables newTables() {
        return new SimpleShadowPageTables();
    }
}
