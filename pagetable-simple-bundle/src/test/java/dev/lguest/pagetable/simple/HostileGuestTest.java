/*
 * Hostile guests, as every shadow page table implementation must refuse them (the
 * shared contract in lguest-testing), run against SimpleShadowPageTables.
 */
package dev.lguest.pagetable.simple;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.testing.mmu.HostileGuestContract;

class HostileGuestTest extends HostileGuestContract {
    @Override
    protected ShadowPageTables newTables() {
        return new SimpleShadowPageTables();
    }
}
