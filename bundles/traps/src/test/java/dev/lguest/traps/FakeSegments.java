/*
 * A segment service that decodes guest.segments as it stands, with no fix-ups: the
 * traps tests put exactly the descriptors they want there.
 */
package dev.lguest.traps;

import dev.lguest.api.cpu.SegmentCache;
import dev.lguest.api.guest.Guest;
import dev.lguest.api.segments.SegmentManager;

final class FakeSegments implements SegmentManager {
    @Override
    public SegmentCache cacheFor(Guest guest, int selector) {
        int index = selector >>> 3;
        if (index == 0 || index >= 32) {
            return null;
        }
        SegmentCache cache = SegmentCache.fromDescriptor(selector, guest.segments.low(index),
                guest.segments.high(index));
        return cache.present() && cache.isCodeOrData() ? cache : null;
    }

    @Override
    public void setupGuestGdt(Guest guest) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void loadGdt(Guest guest, int address, int entries) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void loadTls(Guest guest, int address) {
        throw new UnsupportedOperationException();
    }
}
