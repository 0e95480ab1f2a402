package dev.lguest.pagetable.simple;

import dev.lguest.api.mmu.ShadowPageTables;
import dev.lguest.api.snapshot.GuestStateSection;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * This MMU's snapshot section: the API's {@link dev.lguest.api.mmu.PagingSection} (the
 * guest's page directory; the shadow tables are a cache and are not saved), registered
 * by this bundle with its own shadow page tables.
 */
@Component(service = GuestStateSection.class)
public final class PagingSection extends dev.lguest.api.mmu.PagingSection {
    @Reference
    private ShadowPageTables mmu;

    @Override
    protected ShadowPageTables mmu() {
        return mmu;
    }
}
