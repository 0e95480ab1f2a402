/*
 * Hostile guests, as every shadow page table implementation must refuse them (the
 * shared contract in lguest-testing), run against LguestShadowPageTables.
 */
package dev.lguest.pagetable;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.testing.mmu.HostileGuestContract;

class HostileGuestTest extends HostileGuestContract {
    @Override
    protected ShadowPageTables newTables() {
        return new LguestShadowPageTables();
    }
}
