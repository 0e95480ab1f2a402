package dev.lguest.api.device;

import java.nio.ByteBuffer;

/**
 * One open /dev/lguest: one guest. The protocol is lguest 2.6.24's, word for word:
 * every word is a 32-bit little-endian unsigned long. Both calls return what the
 * syscall would: a byte count, or a negative errno (see {@link Errno}).
 *
 * write: LHREQ_INITIALIZE + base, pfnlimit, pgdir, start; LHREQ_IRQ + irq;
 * LHREQ_BREAK + on/off ("on" blocks until someone writes "off").
 * read: runs the guest; returns 4 and the NOTIFY address in the buffer, or -ENOENT
 * when it dies, after which a read returns its reason (NUL-terminated, cut to fit).
 *
 * The caller is identified by its thread: only the thread that initialized the guest
 * may read or send anything but BREAK (EPERM otherwise).
 */
public interface LguestFile extends AutoCloseable {
    long write(ByteBuffer request);

    long read(ByteBuffer into);

    /** The guest behind this file, once initialized (for tools and statistics), or null. */
    dev.lguest.api.guest.Guest guest();

    @Override
    void close();
}
