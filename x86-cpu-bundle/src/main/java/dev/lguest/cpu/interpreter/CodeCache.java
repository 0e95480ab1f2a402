// Decoded code, kept by PHYSICAL address so that it survives page table changes: the
// CPU translates EIP through its TLB on every block entry, and the cache answers for
// the physical frame and offset found. Only guest RAM frames are cached.
//
// A decoded instruction is NOT position-independent: it holds the EIPs it was decoded
// at (its own, the next one, a relative branch's target, the return address a CALL or
// INT pushes). So a block serves only the EIP it was decoded at. One physical page is
// often mapped at several addresses (Linux maps its vDSO page at a different address in
// every process), so each offset keeps a short chain of blocks, one per EIP seen there.
//
// Cached code goes stale in two ways, handled separately:
//  - the CPU stores into a page holding code (Linux patches its paravirt call sites,
//    loads modules, reuses freed pages). LinearMemory never caches a write translation
//    for such a frame, so every store to it comes here; a store that touches decoded
//    bytes drops all of the page's blocks (and lets stores be cached again).
//  - something other than this CPU writes RAM (the Launcher loading an image, a device
//    filling a buffer that later becomes code). The host makes sure the guest can see
//    that only after the CPU was stopped and resumed, so each run() starts a new epoch and a
//    block's bytes are compared with memory the first time it runs in an epoch;
//    unless the host names the frames it wrote (X86Cpu.frameWritten, then a run with
//    onlyNamedWrites): those frames' blocks are dropped and no new epoch starts, so
//    the few hundred blocks a Linux fork enters between two exits are not re-read.
//
// No block can start with an instruction that runs into the next page (its bytes lie
// in two frames): it is decoded and run alone the slow way (Executor.step) each time.
// The page remembers where such an instruction starts (Crossing), with the bytes that
// made it cross, so the attempt to decode a block there is not repeated on every run
// of it: Linux 2.6.24's fork, exec and exit paths run past about ten such places, some
// of them several times, which cost each forkexec round some thirty block decodes
// thrown away (a 64-slot array, a decode, a thrown PAGE_END). A remembered place only
// sends its instruction to the slow path, which decodes it from memory as it is now,
// so even a stale one could not run wrong code; it is dropped with its page all the
// same, and re-checked once per epoch, so a place that stops crossing gets its block.
package dev.lguest.cpu.interpreter;

import dev.lguest.api.memory.PhysicalMemory;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

final class CodeCache {
    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Longest block: bounds the decode work wasted when a page is overwritten. */
    static final int MAX_INSTRUCTIONS = 64;
    /** Blocks kept at one physical place for different EIPs; the oldest goes first. */
    static final int MAX_ALIASES = 4;

    /** Thrown (without a stack) by the page reader when an instruction runs off its page. */
    private static final RuntimeException PAGE_END = new RuntimeException(null, null, false, false) {
        private static final long serialVersionUID = 1L;
    };

    /** The decoded blocks of one frame, by the offset of their first byte (chained by EIP). */
    private static final class CodePage {
        final Block[] blocks = new Block[PhysicalMemory.PAGE_SIZE];
        /** One bit per byte of the page that some block was decoded from. */
        final long[] covered = new long[PhysicalMemory.PAGE_SIZE / 64];
        /** The places where an instruction starts that runs into the next page, newest first. */
        Crossing crossings;
        int crossingCount;
    }

    /**
     * A place on a page where the instruction at an EIP, for a code size, runs past the
     * page's end: the bytes from there to the end are all prefixes and opcode bytes of
     * one unfinished instruction.
     */
    private static final class Crossing {
        final int offset, eip;
        final boolean code32;
        /** The page's bytes from the offset to its end. */
        final byte[] bytes;
        int checkedEpoch;
        final Crossing next;

        Crossing(int offset, int eip, boolean code32, byte[] bytes, int epoch, Crossing next) {
            this.offset = offset;
            this.eip = eip;
            this.code32 = code32;
            this.bytes = bytes;
            this.checkedEpoch = epoch;
            this.next = next;
        }
    }

    /** Crossing places kept per page; past that the list starts again (a page has a handful). */
    static final int MAX_CROSSINGS = 8;

    /** Feeds the decoder from one page of RAM, refusing to cross into the next. */
    private final class PageReader implements Decoder.CodeSource {
        long pageBase;
        int startEip, startOffset;

        @Override
        public int codeByte(int eip) {
            int offset = startOffset + (eip - startEip);
            if (offset >= PhysicalMemory.PAGE_SIZE) {
                throw PAGE_END;
            }
            return ram.get(LinearMemory.BYTE, pageBase + offset) & 0xff;
        }
    }

    private final InterpreterCpu cpu;
    private final LinearMemory memory;
    private final MemorySegment ram;
    private final CodePage[] pages;
    private final PageReader reader = new PageReader();
    /**
     * Where build() collects a block's instructions before copying them into an array
     * of the block's own length: one of these, not one per block decoded (a fork,
     * exec and wait decodes thousands; the scratch array was a third of what each
     * decode allocated, and spread the blocks it separated in the heap).
     */
    private final Instruction[] decoding = new Instruction[MAX_INSTRUCTIONS];
    private final Decoder decoder = new Decoder(reader);
    /** Bumped by every run(): blocks are re-checked against memory once per epoch. */
    int epoch;
    /** Lookups a hint answered (the tests check it is used). */
    long hintsTaken;
    /** Blocks decoded, and lookups answered by a remembered crossing place (tests, measurements). */
    long blocksDecoded, crossingsTaken;

    CodeCache(InterpreterCpu cpu, LinearMemory memory, PhysicalMemory bus) {
        this.cpu = cpu;
        this.memory = memory;
        this.ram = bus.ram();
        this.pages = new CodePage[bus.ramPages()];
    }

    /**
     * The block at a physical place for this code size, decoded if need be, or null when
     * it cannot be cached (not RAM, or the first instruction crosses the page or faults
     * while decoding: the caller then decodes it the slow way, which raises the fault).
     */
    Block lookup(int frame, int offset, int eip, boolean code32) {
        if (frame < 0 || frame >= pages.length) {
            return null;
        }
        CodePage page = pages[frame];
        if (page != null) {
            for (Block block = page.blocks[offset]; block != null; block = block.alias) {
                if (block.eip != eip || block.code32 != code32) {
                    continue;
                }
                if (checkedNow(block)) {
                    return block;
                }
                // Written behind our back: the rest of the page is suspect too.
                drop(frame);
                break;
            }
            if (page.crossings != null && pages[frame] == page && crossesHere(page, frame, offset, eip, code32)) {
                return null;
            }
        }
        return build(frame, offset, eip, code32);
    }

    /**
     * Whether the page remembers that the instruction at this place runs into the next
     * page (the slow path runs it), its bytes found unchanged in this epoch. A place
     * whose bytes changed behind the CPU's back drops the page, as a changed block does.
     */
    private boolean crossesHere(CodePage page, int frame, int offset, int eip, boolean code32) {
        for (Crossing crossing = page.crossings; crossing != null; crossing = crossing.next) {
            if (crossing.offset != offset || crossing.eip != eip || crossing.code32 != code32) {
                continue;
            }
            if (crossing.checkedEpoch != epoch) {
                if (!ramHolds(((long) frame << PhysicalMemory.PAGE_SHIFT) + offset, crossing.bytes)) {
                    drop(frame);
                    return false;
                }
                crossing.checkedEpoch = epoch;
            }
            crossingsTaken++;
            return true;
        }
        return false;
    }

    /**
     * The lookup, given a block that once answered it (a link made before the TLB
     * flush that renewed every link generation): that block is the answer when it was
     * decoded at this very place, EIP and code size, its frame's blocks were not
     * dropped since (a drop forgets the frame's record; a new one is another object),
     * and it is checked in this epoch, or its bytes are found unchanged now, as the
     * search would check them (a third of the hints come after a new epoch began: a
     * timer interrupt makes the next run a plain one). It is then what the search
     * would find, or a block the chain let go for a newer alias, with the same bytes
     * decoded the same way; a changed block is left to the search, which drops its
     * frame's blocks. The
     * mapping, the CS limit and the CPL's rights were checked by the caller, as for
     * any lookup. This spares the search's loads (the page's block table, the chain),
     * which missed the processor's caches on most of the thousands of lookups each
     * Linux fork and exec makes after its address-space switches.
     */
    Block lookup(int frame, int offset, int eip, boolean code32, Block hint) {
        if (hint != null && hint.frame == frame && hint.offset == offset && hint.eip == eip
                && hint.code32 == code32 && hint.cachedIn != null && pages[frame] == hint.cachedIn) {
            if (checkedNow(hint)) {
                hintsTaken++;
                return hint;
            }
        }
        return lookup(frame, offset, eip, code32);
    }

    /**
     * Whether the block's bytes are as decoded in this epoch: checked already, or found
     * unchanged now (and so marked): what the lookup asks of a block it finds, and what
     * code compiled together with a block the lookup checked (the translator's regions)
     * asks of its other blocks, reached without a lookup. A changed block is only
     * answered for here: the lookup that meets it drops its page.
     */
    boolean checkedNow(Block block) {
        if (block.checkedEpoch == epoch) {
            return true;
        }
        if (unchanged(block)) {
            block.checkedEpoch = epoch;
            return true;
        }
        return false;
    }

    /**
     * Whether RAM still holds the bytes the block was decoded from. Every block a run
     * enters is checked once, so this is on the path of every exit to the host (a
     * fork in Linux enters a few hundred blocks between two exits): a word at a time,
     * the last word masked to the block's bytes. A block too near the end of RAM for
     * a whole last word is compared byte by byte.
     */
    private boolean unchanged(Block block) {
        long base = ((long) block.frame << PhysicalMemory.PAGE_SHIFT) + block.offset;
        long[] words = block.words;
        int last = words.length - 1;
        if (base + 8L * words.length > ram.byteSize()) {
            return ramHolds(base, block.bytes);
        }
        for (int i = 0; i < last; i++) {
            if (ram.get(LONG_LE, base + 8L * i) != words[i]) {
                return false;
            }
        }
        return (ram.get(LONG_LE, base + 8L * last) & block.lastWordMask) == words[last];
    }

    /** Whether RAM at {@code base} holds these bytes, compared one by one. */
    private boolean ramHolds(long base, byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (ram.get(LinearMemory.BYTE, base + i) != bytes[i]) {
                return false;
            }
        }
        return true;
    }

    /** A copy of {@code length} bytes of RAM from a place on a frame. */
    private byte[] ramBytes(int frame, int offset, int length) {
        byte[] bytes = new byte[length];
        MemorySegment.copy(ram, LinearMemory.BYTE, ((long) frame << PhysicalMemory.PAGE_SHIFT) + offset, bytes, 0,
                length);
        return bytes;
    }

    private Block build(int frame, int offset, int eip, boolean code32) {
        PageReader source = reader;
        source.pageBase = (long) frame << PhysicalMemory.PAGE_SHIFT;
        source.startEip = eip;
        source.startOffset = offset;
        blocksDecoded++;
        Instruction[] code = decoding;
        int count = 0;
        int position = eip;
        boolean crossed = false;
        while (count < MAX_INSTRUCTIONS) {
            Instruction in = new Instruction();
            try {
                decoder.decode(in, position, code32);
            } catch (CpuFault e) {
                break; // left for the slow path to raise when it is reached
            } catch (RuntimeException e) {
                if (e != PAGE_END) {
                    throw e;
                }
                crossed = true;
                break; // crosses into the next page: decoded the slow way when reached
            }
            in.handler = (byte) Executor.classify(in);
            code[count++] = in;
            position = in.next;
            if ((in.flags & OpcodeTable.ENDS_BLOCK) != 0) {
                break;
            }
        }
        if (count == 0) {
            if (crossed) {
                rememberCrossing(frame, offset, eip, code32);
            }
            return null;
        }
        int length = position - eip;
        Instruction[] instructions = Arrays.copyOf(code, count);
        Arrays.fill(code, 0, count, null);
        Block block = new Block(frame, offset, code32, instructions, ramBytes(frame, offset, length), epoch);
        CodePage page = codePage(frame);
        block.cachedIn = page;
        block.alias = withoutOldest(page.blocks[offset]);
        page.blocks[offset] = block;
        cover(page, offset, length);
        return block;
    }

    /** The frame's record, made (and the frame's stores watched) if it has none yet. */
    private CodePage codePage(int frame) {
        CodePage page = pages[frame];
        if (page == null) {
            page = new CodePage();
            pages[frame] = page;
            memory.protectCode(frame);
        }
        return page;
    }

    /** Bytes decoded from: a CPU store into any of them drops the page's code. */
    private static void cover(CodePage page, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            page.covered[i >>> 6] |= 1L << i;
        }
    }

    /** The instruction at this place ran off the page's end while a block was decoded. */
    private void rememberCrossing(int frame, int offset, int eip, boolean code32) {
        int length = PhysicalMemory.PAGE_SIZE - offset;
        byte[] bytes = ramBytes(frame, offset, length);
        CodePage page = codePage(frame);
        if (page.crossingCount == MAX_CROSSINGS) {
            page.crossings = null;
            page.crossingCount = 0;
        }
        page.crossings = new Crossing(offset, eip, code32, bytes, epoch, page.crossings);
        page.crossingCount++;
        cover(page, offset, length);
    }

    /** The chain of blocks at one place, cut so that one more fits in MAX_ALIASES. */
    private static Block withoutOldest(Block chain) {
        Block last = chain;
        for (int kept = 1; last != null; kept++, last = last.alias) {
            if (kept == MAX_ALIASES - 1) {
                last.alias = null;
                break;
            }
        }
        return chain;
    }

    /** The CPU stored {@code size} bytes at an offset of a code frame. */
    void written(int frame, int offset, int size) {
        if (frame < 0 || frame >= pages.length) {
            return;
        }
        CodePage page = pages[frame];
        if (page == null) {
            return;
        }
        int end = Math.min(offset + size, PhysicalMemory.PAGE_SIZE);
        for (int i = offset; i < end; i++) {
            if ((page.covered[i >>> 6] & (1L << i)) != 0) {
                drop(frame);
                return;
            }
        }
    }

    /**
     * The host wrote into a frame from outside the CPU (and will not start a new epoch
     * for it): its blocks go. Such frames are the host's usual targets (a trap frame on
     * a stack, lguest_data, a page table), which rarely hold code.
     */
    void writtenOutside(int frame) {
        if (frame >= 0 && frame < pages.length && pages[frame] != null) {
            drop(frame);
        }
    }

    /** Forgets every block of a frame; the block running now must not go on. */
    private void drop(int frame) {
        pages[frame] = null;
        memory.unprotectCode(frame);
        cpu.endBlock();
        cpu.unlinkBlocks();
    }
}
