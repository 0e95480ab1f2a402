package dev.lguest.api.cpu;

/**
 * The hidden part of a segment register: what the CPU loaded from the descriptor when
 * the selector was loaded, and what it checks every access against afterwards.
 *
 * {@code attributes} holds bits 8 to 23 of the descriptor's high word, unshifted into
 * bits 0 to 15: type (0-3), S (4), DPL (5-6), P (7), AVL (12), D/B (14), G (15). This
 * is the same packing LAR returns (shifted right by 8). {@code limit} is the byte
 * limit after the granularity bit was applied.
 */
public record SegmentCache(int selector, int base, int limit, int attributes) {
    public static final int TYPE_ACCESSED = 1, S_CODE_OR_DATA = 1 << 4, PRESENT = 1 << 7,
            DEFAULT_BIG = 1 << 14, GRANULARITY = 1 << 15;

    /** A null selector's cache: unusable, as after loading 0 into a data segment register. */
    public static final SegmentCache NULL = new SegmentCache(0, 0, 0, 0);

    /** Decodes the cache a CPU would load from an 8-byte descriptor (low and high words). */
    public static SegmentCache fromDescriptor(int selector, int low, int high) {
        int base = (low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000);
        int limit = (low & 0xffff) | (high & 0x000f0000);
        int attributes = (high >>> 8) & 0xf0ff;
        if ((attributes & GRANULARITY) != 0) {
            limit = (limit << 12) | 0xfff;
        }
        return new SegmentCache(selector, base, limit, attributes);
    }

    public int dpl() {
        return (attributes >>> 5) & 3;
    }

    public int type() {
        return attributes & 0xf;
    }

    public boolean present() {
        return (attributes & PRESENT) != 0;
    }

    /** Code or data (as opposed to a system descriptor such as a TSS or gate). */
    public boolean isCodeOrData() {
        return (attributes & S_CODE_OR_DATA) != 0;
    }

    public boolean isCode() {
        return isCodeOrData() && (attributes & 8) != 0;
    }

    /** 32-bit default operand size (code) or big stack (data). */
    public boolean big() {
        return (attributes & DEFAULT_BIG) != 0;
    }

    /** The requested privilege level in the selector. */
    public int rpl() {
        return selector & 3;
    }
}
